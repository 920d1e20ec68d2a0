/*
 * Provider Batch APIs: the driver's `submitBatch`, `pollBatches` and `cancelBatches` flows
 * (core/src/run/batch.rs), performed by the runner's executor. The menu item asks first.
 */

/** Menu: the estimate first, then a confirmation, then the submission. */
async function rowbatchSubmitBatchMenu() {
  var e = await rowbatchEstimate();
  var ui = SpreadsheetApp.getUi();
  var cost = e.cost ? 'Batch API: about $' + e.cost.batch.toFixed(4) + ' (realtime $' + e.cost.realtime.toFixed(4) + ')\n' : '';
  var answer = ui.alert('Submit as batch', e.rows + ' rows to send.\n' + cost +
    'Results come back within 24 hours; rowbatch polls and writes them.', ui.ButtonSet.YES_NO);
  if (answer !== ui.Button.YES) return { submitted: 0 };
  var r = await rowbatchSubmitBatch();
  ui.alert(r.submitted + ' rows submitted in ' + r.batches.length + ' batch(es)' + (r.note ? '\n' + r.note : ''));
  return r;
}

/** Submits every due row the budget allows; returns the provider batches made. */
async function rowbatchSubmitBatch() { return rbDrive_('submitBatch'); }

/** The poll trigger: one state step for every pending batch, then ingestion of ended ones. */
async function rowbatchPollBatches() { return rbDrive_('pollBatches'); }

/** Cancels every pending batch; the next poll ingests what they had finished. */
async function rowbatchCancelBatches() { return rbDrive_('cancelBatches'); }
