import { afterTime, cancelTimer, type Clock, type ClockTimer } from "../clock.js";

/** One timer, armed for the earliest deadline asked of it: a later one leaves it be, an earlier one re-arms it. */
export class DeadlineTimer {
  private timer?: ClockTimer;
  private armedAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly onTime: () => void,
  ) {}

  /** When it fires next (Infinity when not armed). */
  get at(): number {
    return this.armedAt;
  }

  /** Fires at `at` (clock time), unless already armed for no later. */
  armBy(at: number): void {
    if (at >= this.armedAt) return;
    cancelTimer(this.timer);
    this.armedAt = at;
    this.timer = afterTime(this.clock, at - this.clock.now(), () => {
      this.timer = undefined;
      this.armedAt = Infinity;
      this.onTime();
    });
  }

  /** Disarms it. */
  clear(): void {
    cancelTimer(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }
}
