import { SegmentedMessage } from 'sms-segments-calculator';

export interface SegmentInfo {
  /** Parts the carrier splits the message into; Twilio bills each. */
  segments: number;
  /** GSM-7 unless a character outside the GSM alphabet forces UCS-2 (an emoji, a curly quote). */
  encoding: 'GSM-7' | 'UCS-2';
  /** Characters as a person counts them (Unicode scalar values). */
  characters: number;
}

/**
 * Printable ASCII that is one GSM-7 septet each: everything but the extension characters
 * ([ \\ ] ^ { | } ~, two septets) and the backtick (not in GSM-7 at all), plus line breaks.
 */
const GSM_BASIC_ASCII = /^[\n\r !-Z_a-z]*$/;

/** What a body costs to send: its segments and encoding, as Twilio counts them. */
export function segmentInfo(body: string): SegmentInfo {
  // Most bodies are plain ASCII: counted directly (160 septets in one segment, 153 per part of a
  // concatenated message); anything else goes through the library's full GSM-7/UCS-2 analysis.
  if (GSM_BASIC_ASCII.test(body)) {
    const n = body.length;
    return { segments: n === 0 ? 0 : n <= 160 ? 1 : Math.ceil(n / 153), encoding: 'GSM-7', characters: n };
  }
  const m = new SegmentedMessage(body, 'auto');
  return { segments: body ? m.segmentsCount : 0, encoding: m.encodingName === 'UCS-2' ? 'UCS-2' : 'GSM-7', characters: m.numberOfUnicodeScalars };
}
