import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { call } from '../test/fixtures';
import { cardRendered, enablePaintAck, PAINT_SEEN_MAX } from './paint';

describe('paint acknowledgement', () => {
  let frames: FrameRequestCallback[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    frames = [];
    vi.stubGlobal('requestAnimationFrame', (f: FrameRequestCallback) => frames.push(f));
  });
  afterEach(() => {
    enablePaintAck(null);
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  /** Run the pending animation frame, then the tasks it queued. */
  function paint() {
    for (const f of frames.splice(0)) f(0);
    vi.runAllTimers();
  }

  it('does nothing when off', () => {
    cardRendered(call(), '+79161234567');
    expect(frames).toHaveLength(0);
  });

  it('reports an incoming card once, after the frame holding it was painted', () => {
    const report = vi.fn(async () => undefined);
    enablePaintAck(report);
    cardRendered(call(), '+79161234567');
    expect(report).not.toHaveBeenCalled();
    frames.splice(0).forEach((f) => f(0));
    expect(report).not.toHaveBeenCalled(); // still inside the frame callback: not painted yet
    vi.runAllTimers();
    expect(report).toHaveBeenCalledExactlyOnceWith(
      'telphin:abc',
      '+79161234567',
      ['telphin:3232240001-bb93', 'era:era-1', 'webhook:wh-1'],
      expect.any(Number),
      expect.any(Number),
    );
    cardRendered(call({ phase: 'active' }), '+79161234567');
    paint();
    expect(report).toHaveBeenCalledTimes(1);
  });

  it('skips outgoing calls and forgets the oldest cards past the limit', () => {
    const report = vi.fn(async () => undefined);
    enablePaintAck(report);
    cardRendered(call({ key: 'era:out', direction: 'outbound' }), '+7');
    for (let i = 0; i <= PAINT_SEEN_MAX; i++) cardRendered(call({ key: `era:${i}` }), '+7');
    paint();
    expect(report).toHaveBeenCalledTimes(PAINT_SEEN_MAX + 1);
    cardRendered(call({ key: 'era:0' }), '+7'); // forgotten, so reported again
    cardRendered(call({ key: `era:${PAINT_SEEN_MAX}` }), '+7'); // still remembered
    paint();
    expect(report).toHaveBeenCalledTimes(PAINT_SEEN_MAX + 2);
  });

  it('swallows a refused report', async () => {
    enablePaintAck(vi.fn(async () => Promise.reject(new Error('off'))));
    cardRendered(call(), '+7');
    paint();
    await Promise.resolve();
  });
});
