import { SegmentedMessage } from 'sms-segments-calculator';

export interface SegmentInfo {
  /** Parts the carrier splits the message into; Twilio bills each. */
  segments: number;
  /** GSM-7 unless a character outside the GSM alphabet forces UCS-2 (an emoji, a curly quote). */
  encoding: 'GSM-7' | 'UCS-2';
  /** Characters as a person counts them (Unicode scalar values). */
  characters: number;
}

/** What a body costs to send: its segments and encoding, as Twilio counts them. */
export function segmentInfo(body: string): SegmentInfo {
  const m = new SegmentedMessage(body, 'auto');
  return { segments: body ? m.segmentsCount : 0, encoding: m.encodingName === 'UCS-2' ? 'UCS-2' : 'GSM-7', characters: m.numberOfUnicodeScalars };
}
