// The widget's stylesheet, applied inside its shadow root only: the host page's styles do not reach in
// and ours do not leak out. Adopted as a constructed stylesheet, which a strict Content-Security-Policy
// on the host page (style-src without 'unsafe-inline') does not block. Colours meet WCAG AA.
export const CSS = `
:host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.45 ui-sans-serif,system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#111827}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,textarea,input{font:inherit;color:inherit}
:focus-visible{outline:3px solid #a5b4fc;outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{width:56px;height:56px;border-radius:50%;border:0;background:#4f46e5;color:#fff;cursor:pointer;box-shadow:0 6px 18px rgba(17,24,39,.25);display:grid;place-items:center;margin-left:auto;position:relative}
.launcher:hover{background:#4338ca}
.launcher svg{width:26px;height:26px;fill:currentColor}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#b91c1c;color:#fff;font-size:12px;font-weight:700;display:grid;place-items:center;padding:0 5px}
.panel{position:absolute;right:0;bottom:70px;width:min(370px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(17,24,39,.25);display:flex;flex-direction:column;overflow:hidden}
.head{background:#4f46e5;color:#fff;padding:14px 16px;display:flex;gap:10px;align-items:flex-start}
.head h2{font-size:16px;margin:0;font-weight:700}
.head p{margin:2px 0 0;font-size:13px}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#9ca3af;margin-right:6px}
.on .dot{background:#34d399}
.close{margin-left:auto;background:transparent;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px;border-radius:6px}
.close:hover{background:rgba(255,255,255,.15)}
.body{flex:1;overflow-y:auto;padding:14px 16px;display:flex;flex-direction:column;gap:10px;background:#f9fafb}
.greeting{margin:0;background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:10px 12px;white-space:pre-wrap}
.log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.in{align-self:flex-end;background:#4f46e5;color:#fff;border-bottom-right-radius:4px}
.msg.out{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}
.msg.sys{align-self:center;background:transparent;color:#4b5563;font-size:13px;text-align:center}
.who{display:block;font-size:12px;font-weight:600;color:#4b5563;margin-bottom:2px}
.articles{margin:0;padding:0;list-style:none;display:grid;gap:6px}
.suggest{display:grid;gap:6px}
.suggest h3{font-size:13px;margin:0;color:#4b5563;font-weight:600}
.articles a{display:block;background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:8px 10px;color:#3730a3;text-decoration:none}
.articles a:hover{border-color:#4f46e5}
.articles small{display:block;color:#4b5563}
.csat{background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:10px 12px;margin:0}
.csat legend{float:left;width:100%;font-weight:600;padding:0;margin-bottom:8px}
.csat .scores{clear:both}
.scores{display:flex;gap:6px}
.scores button{flex:1;border:1px solid #cfd4e0;background:#fff;border-radius:8px;padding:6px 0;cursor:pointer;font-weight:600}
.scores button:hover{border-color:#4f46e5;background:#eef2ff}
.form{border-top:1px solid #e5e7eb;padding:10px;display:flex;gap:8px;align-items:flex-end;background:#fff}
.form textarea{flex:1;resize:none;border:1px solid #cfd4e0;border-radius:10px;padding:8px 10px;min-height:40px;max-height:120px}
.send{border:0;background:#4f46e5;color:#fff;border-radius:10px;padding:9px 14px;font-weight:600;cursor:pointer}
.send:disabled{opacity:.6;cursor:not-allowed}
.err{color:#b91c1c;font-size:13px;margin:0 10px 8px}
`;
