import { describe, expect, it } from 'vitest';
import { synthesizeRecording } from './synthesize-recording';

const ascii = (bytes: Uint8Array, start: number, length: number) =>
  String.fromCharCode(...bytes.subarray(start, start + length));

describe('synthesizeRecording', () => {
  it('is a playable 8 kHz 16-bit mono WAV as long as the recording', () => {
    const wav = synthesizeRecording(3_000);
    const view = new DataView(wav.buffer);
    expect(ascii(wav, 0, 4)).toBe('RIFF');
    expect(ascii(wav, 8, 8)).toBe('WAVEfmt ');
    expect(ascii(wav, 36, 4)).toBe('data');
    expect(view.getUint32(24, true)).toBe(8_000);
    expect(view.getUint16(22, true)).toBe(1);
    expect(view.getUint16(34, true)).toBe(16);
    expect(view.getUint32(40, true)).toBe(3 * 8_000 * 2);
    expect(view.getUint32(4, true)).toBe(wav.byteLength - 8);
    // Not silence: the tones are there.
    const samples = new Int16Array(wav.buffer.slice(44));
    expect(Math.max(...samples.subarray(0, 8_000))).toBeGreaterThan(1_000);
  });

  it('is capped at maxMs and never shorter than one second', () => {
    expect(synthesizeRecording(600_000, 2_000).byteLength).toBe(44 + 2 * 8_000 * 2);
    expect(synthesizeRecording(0).byteLength).toBe(44 + 8_000 * 2);
  });

  it('lasts at most 20 s by default; 15 s is the README’s 240,044 bytes', () => {
    expect(synthesizeRecording(15_000).byteLength).toBe(240_044);
    expect(synthesizeRecording(600_000).byteLength).toBe(44 + 20 * 8_000 * 2);
  });
});
