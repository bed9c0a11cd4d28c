import { describe, expect, it } from 'vitest';
import { NO_STREAM_TEXT, STATUS_TEXT, stateText } from './p2p-player-element.ts';

describe('<p2p-player> on-screen text', () => {
  it('without a stream id says so and how to fix it, instead of waiting for a broadcaster', () => {
    expect(stateText('waiting-for-broadcaster', false)).toBe(NO_STREAM_TEXT);
    expect(stateText('idle', false)).toBe(NO_STREAM_TEXT);
    expect(stateText('waiting-for-broadcaster', true)).toBe(STATUS_TEXT['waiting-for-broadcaster']);
    expect(stateText('playing', true)).toBe('');
  });

  it('every state that shows text says what to do next (two sentences at least)', () => {
    for (const [status, text] of Object.entries(STATUS_TEXT)) {
      if (text === '') continue;
      expect(text.split(/[.…]\s/).length, status).toBeGreaterThanOrEqual(2);
    }
  });

  it('names the cause of the error state when it is known', () => {
    expect(stateText('error', true, 'UNSUPPORTED_CODEC')).toMatch(/codec.*Try/);
    expect(stateText('error', true, 'SOMETHING_ELSE')).toBe(STATUS_TEXT.error);
  });
});
