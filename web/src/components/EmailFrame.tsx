/**
 * Shows an email's HTML in a sandboxed frame: no scripts, no forms, no top navigation, an opaque
 * origin (no cookie, no access to the dashboard). `sandbox=""` grants nothing; the dashboard's CSP,
 * which the frame inherits, also refuses scripts and remote loads.
 */
export function EmailFrame({ html, title, height = 480 }: { html: string; title: string; height?: number }) {
  return <iframe className="email-frame" title={title} sandbox="" srcDoc={html} style={{ height }} referrerPolicy="no-referrer" />;
}
