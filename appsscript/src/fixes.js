/*
 * "Apply fixes": the fixes the core proposes for the input rows (a value written as "N/A"
 * cleared, an address completed, …) written into the input sheet after a confirmation that lists
 * them, each noted on its cell with the old value and the reason. Under the script lock the cells
 * are read again in one read: a cell changed since it was checked, or holding a formula or a
 * date, is left as it is and said so. Only fixed cells are written (untouched neighbours are
 * never rewritten: a formula, a rich-text run or a number kept as text would not survive it),
 * one write per run of adjacent fixed cells in a column, and one for their notes.
 */

/** Menu and sidebar: the fixes listed, confirmed, then written. */
async function rowbatchApplyFixesMenu() {
  var rb = await rowbatchAsync_();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var job = rbJobInput_(ss);
  var spec = job.spec;
  var fixes = rb.fixRows({ spec: spec, header: job.input.header, rows: job.input.rows, firstRow: job.input.firstRow }).applied;
  var ui = SpreadsheetApp.getUi();
  if (fixes.length === 0) {
    ui.alert('rowbatch: no fix to apply', 'The checks propose no fix for the input rows.', ui.ButtonSet.OK);
    return { applied: 0, left: [] };
  }
  var listed = fixes.slice(0, RB_FIXES_LISTED_).map(function (f) {
    return f.cell + ': ' + JSON.stringify(f.from) + ' → ' + (f.to === null ? '(empty)' : JSON.stringify(f.to)) + ' — ' + f.reason;
  });
  if (fixes.length > RB_FIXES_LISTED_) listed.push('… and ' + (fixes.length - RB_FIXES_LISTED_) + ' more');
  var answer = ui.alert('Apply ' + fixes.length + ' fix(es) to the input sheet?',
    listed.join('\n') + '\n\nEach fixed cell gets a note with its old value and the reason. Those rows are then sent again as new content.',
    ui.ButtonSet.YES_NO);
  if (answer !== ui.Button.YES) return { applied: 0, left: [], cancelled: true };
  var done = rbApplyFixes_(rb, ss, spec, fixes);
  var summary = done.applied + ' cell(s) fixed in ' + done.writes + ' write(s)' +
    (done.left.length ? '; left as they are: ' + done.left.map(function (l) { return l.cell + ' (' + l.why + ')'; }).join(', ') : '');
  ui.alert('rowbatch: fixes applied', summary, ui.ButtonSet.OK);
  return done;
}

var RB_FIXES_LISTED_ = 25;

function rbApplyFixes_(rb, ss, spec, fixes) {
  var sheet = spec.input.sheet ? ss.getSheetByName(spec.input.sheet) : ss.getSheets()[0];
  var at = fixes.map(function (f) { return rbA1_(f.cell); });
  var top = Math.min.apply(null, at.map(function (p) { return p.row; }));
  var left = Math.min.apply(null, at.map(function (p) { return p.col; }));
  var bottom = Math.max.apply(null, at.map(function (p) { return p.row; }));
  var right = Math.max.apply(null, at.map(function (p) { return p.col; }));
  var lock = LockService.getScriptLock();
  lock.waitLock(10000);
  try {
    var box = sheet.getRange(top, left, bottom - top + 1, right - left + 1);
    var values = box.getValues();
    var formulas = box.getFormulas();
    var notes = box.getNotes();
    var go = [];
    var kept = [];
    fixes.forEach(function (f, i) {
      var r = at[i].row - top;
      var c = at[i].col - left;
      var now = values[r][c];
      var why = formulas[r][c] ? 'it holds a formula' : now instanceof Date ? 'it holds a date'
        : JSON.stringify(rbCells_([now])[0]) !== JSON.stringify(f.from) ? 'it changed after the check' : null;
      if (why) kept.push({ cell: f.cell, why: why });
      else go.push({ row: at[i].row, col: at[i].col, value: f.to === null ? '' : typeof f.to === 'string' ? rb.sheetText(f.to) : f.to,
        note: (notes[r][c] ? notes[r][c] + '\n' : '') + 'rowbatch fixed this cell: it was ' + JSON.stringify(f.from) + ' (' + f.reason + ')' });
    });
    // Runs of adjacent fixed cells, column by column: one setValues and one setNotes each.
    go.sort(function (a, b) { return a.col - b.col || a.row - b.row; });
    var writes = 0;
    for (var i = 0; i < go.length;) {
      var j = i + 1;
      while (j < go.length && go[j].col === go[i].col && go[j].row === go[j - 1].row + 1) j += 1;
      var run = go.slice(i, j);
      var range = sheet.getRange(run[0].row, run[0].col, run.length, 1);
      range.setValues(run.map(function (g) { return [g.value]; }));
      range.setNotes(run.map(function (g) { return [g.note]; }));
      writes += 1;
      i = j;
    }
    SpreadsheetApp.flush();
    return { applied: go.length, writes: writes, left: kept };
  } finally {
    lock.releaseLock();
  }
}

/** `C29` as 1-based row and column. */
function rbA1_(a1) {
  var m = /^([A-Z]+)(\d+)$/.exec(String(a1));
  if (!m) throw new Error('rowbatch: not a cell: ' + a1);
  var col = 0;
  for (var i = 0; i < m[1].length; i += 1) col = col * 26 + (m[1].charCodeAt(i) - 64);
  return { row: Number(m[2]), col: col };
}
