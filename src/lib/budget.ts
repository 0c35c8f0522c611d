/**
 * A run's allowance of D1 statements and wall time. Background work (retention, tenant erasure)
 * takes one unit per statement and stops when either runs out; the next run continues where the
 * data says it stopped, so a large backlog is worked off over several runs instead of timing out.
 */
export class WorkBudget {
  used = 0;

  constructor(
    readonly maxStatements: number,
    /** Epoch ms after which nothing more is taken. */
    readonly deadline: number,
  ) {}

  static of(maxStatements: number, maxMs: number): WorkBudget {
    return new WorkBudget(maxStatements, Date.now() + maxMs);
  }

  /** Takes one statement's worth; false when the budget is spent (nothing is taken then). */
  take(): boolean {
    if (this.exhausted) return false;
    this.used += 1;
    return true;
  }

  get exhausted(): boolean {
    return this.used >= this.maxStatements || Date.now() >= this.deadline;
  }
}
