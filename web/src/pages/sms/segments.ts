// SMS length as carriers bill it (Twilio's own calculator): GSM-7 or UCS-2, and how many segments.
import { SegmentedMessage } from 'sms-segments-calculator';

export function countSegments(body: string) {
  const m = new SegmentedMessage(body);
  const ucs2 = m.encodingName !== 'GSM-7';
  // Code units as billed: septets in GSM-7 (an escaped character such as € takes two), 16-bit units in UCS-2 (an emoji takes two).
  const units = Math.round(m.messageSize / (ucs2 ? 16 : 7));
  const single = ucs2 ? 70 : 160;
  const multi = ucs2 ? 67 : 153;
  const segments = m.segmentsCount;
  return {
    encoding: m.encodingName,
    segments,
    characters: m.numberOfCharacters,
    /** Units left before another segment starts. */
    remaining: (segments <= 1 ? single : multi * segments) - units,
    /** The characters that force UCS-2 (emoji, curly quotes), to replace if the count matters. */
    nonGsm: ucs2 ? [...new Set(m.getNonGsmCharacters())] : [],
  };
}
