// The server's wall clock, a leaf: Date.now, unless config turns on the manual test clock (PERMIO_TEST_CLOCK=1),
// under which time stands still until `POST /debug/clock?advance_ms=N` moves it — tests of time never sleep.

/** Milliseconds since the epoch: `Date.now` itself in production (no wrapper, no branch). */
export let now: () => number = Date.now;

/**
 * Stops the clock at `start` (ms) and returns the function that moves it forward. Called once, by main.ts, only when
 * the configuration asks for the test clock.
 */
export function useManualClock(start: number): (ms: number) => void {
  let t = start;
  now = () => t;
  return (ms) => {
    t += ms;
  };
}
