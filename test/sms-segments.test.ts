import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { segmentInfo } from '../src/modules/sms/segments.js';

// The plain-ASCII fast path must count exactly what the library (Twilio's own algorithm) counts.
const library = (body: string) => {
  const m = new SegmentedMessage(body, 'auto');
  return { segments: body ? m.segmentsCount : 0, encoding: m.encodingName === 'UCS-2' ? 'UCS-2' : 'GSM-7', characters: m.numberOfUnicodeScalars };
};

describe('SMS segments', () => {
  it('counts plain ASCII bodies of every length around the segment limits like the library', () => {
    const alphabet = 'abc XYZ 019 .,!?$@_#%&()*+-/:;<=>"\'\n';
    for (const n of [0, 1, 70, 153, 159, 160, 161, 306, 307, 459, 460, 1600]) {
      const body = Array.from({ length: n }, (_, i) => alphabet[(i * 7) % alphabet.length]).join('');
      expect(segmentInfo(body), `length ${n}`).toEqual(library(body));
    }
  });

  it('leaves extension characters, the backtick and non-GSM text to the library', () => {
    for (const body of ['a'.repeat(159) + '{', 'price ~ 10€', 'use `code`', 'Grüße', 'é'.repeat(161), 'Hi 👋', '[x]'.repeat(60)]) {
      expect(segmentInfo(body), body).toEqual(library(body));
    }
    expect(segmentInfo('a'.repeat(159) + '{').segments).toBe(2);
    expect(segmentInfo('Hi 👋').encoding).toBe('UCS-2');
  });
});
