/**
 * Mocha's spec output, plus the closing line CI reads: "N passed, N failed, N skipped".
 */
import * as Mocha from "mocha";

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      if (s) console.log(`\n${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`);
    });
  }
}

export = SummaryReporter;
