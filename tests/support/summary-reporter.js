'use strict';

const { DefaultReporter, SummaryReporter } = require('@jest/reporters');

/**
 * Jest's usual output, then the plain closing line CI reads: "N passed, N failed[, N skipped]".
 * Jest always adds its summary reporter last, so ours wraps both instead of following them.
 */
class ClosingLineReporter {
  constructor(globalConfig, options, context) {
    this.reporters = [new DefaultReporter(globalConfig), new SummaryReporter(globalConfig, options ?? {}, context)];
  }

  onRunStart(...args) {
    for (const reporter of this.reporters) reporter.onRunStart?.(...args);
  }

  onTestStart(...args) {
    for (const reporter of this.reporters) reporter.onTestStart?.(...args);
  }

  onTestCaseResult(...args) {
    for (const reporter of this.reporters) reporter.onTestCaseResult?.(...args);
  }

  onTestResult(...args) {
    for (const reporter of this.reporters) reporter.onTestResult?.(...args);
  }

  async onRunComplete(contexts, results) {
    for (const reporter of this.reporters) await reporter.onRunComplete?.(contexts, results);
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stderr.write(`${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }

  getLastError() {
    for (const reporter of this.reporters) {
      const error = reporter.getLastError?.();
      if (error) return error;
    }
    return undefined;
  }
}

module.exports = ClosingLineReporter;
