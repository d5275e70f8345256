const sampleRate = 8_000;

/**
 * A stand-in for a simulated call's recording: a WAV (8 kHz, 16-bit mono) of soft alternating
 * tones, one "turn" per 1.5 s, as long as the call's recording (at most `maxMs`). The simulator's
 * recording URLs name providers' hosts that hold no such file; an app serves this instead so its
 * player works end to end without a provider account.
 */
export function synthesizeRecording(durationMs: number, maxMs = 20_000): Uint8Array<ArrayBuffer> {
  const seconds = Math.max(1, Math.min(durationMs, maxMs) / 1000);
  const samples = Math.round(seconds * sampleRate);
  const buffer = new ArrayBuffer(44 + samples * 2);
  const view = new DataView(buffer);
  const ascii = (offset: number, text: string) => {
    for (let index = 0; index < text.length; index += 1) {
      view.setUint8(offset + index, text.charCodeAt(index));
    }
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // PCM header size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, samples * 2, true);
  for (let index = 0; index < samples; index += 1) {
    const time = index / sampleRate;
    const turn = Math.floor(time / 1.5);
    const inTurn = time - turn * 1.5;
    // Agent and caller take turns (two pitches), with a pause at the end of each turn.
    const frequency = turn % 2 === 0 ? 220 : 330;
    const envelope = inTurn < 1.2 ? Math.sin((Math.PI * inTurn) / 1.2) : 0;
    const value = Math.sin(2 * Math.PI * frequency * time) * envelope * 0.2;
    view.setInt16(44 + index * 2, Math.round(value * 32_767), true);
  }
  return new Uint8Array(buffer);
}
