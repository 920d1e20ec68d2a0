/*
 * Sheets I/O in blocks: one read per block, one write per run of rows, the grid grown ahead of
 * a write (Sheets never grows a sheet for one). Mechanics only; what to read and write comes
 * from the core.
 */

/**
 * The input block with one read: the header row and every row under it; null if no such sheet.
 * No name: the spreadsheet's first sheet.
 */
function rbInput_(ss, name, headerRow) {
  var sheet = name ? ss.getSheetByName(name) : ss.getSheets()[0];
  if (!sheet) return null;
  var lastRow = sheet.getLastRow();
  var lastCol = Math.max(1, sheet.getLastColumn());
  var values = lastRow >= headerRow ? sheet.getRange(headerRow, 1, lastRow - headerRow + 1, lastCol).getValues() : [[]];
  return { header: values[0].map(String), rows: values.slice(1).map(rbCells_), firstRow: headerRow + 1 };
}

/** Cells as the core takes them: dates as ISO text, blanks as null. */
function rbCells_(row) {
  return row.map(function (v) { return v instanceof Date ? v.toISOString() : v === '' ? null : v; });
}

/** A sheet with its header, made if missing (a new sheet has 26 columns: wider headers grow it). */
function rbSheet_(ss, name, header, hidden) {
  var sheet = ss.getSheetByName(name);
  if (!sheet) {
    sheet = ss.insertSheet(name);
    rbPut_(sheet, 1, 1, [header], 0);
    if (hidden) sheet.hideSheet();
  }
  return sheet;
}

/**
 * Each sheet's grid as this execution last saw it: from the open-ended ledger reads (which
 * return every row of the grid) or, after a refused write, from getMaxRows/getMaxColumns.
 */
var RB_GRID_ = {};

/**
 * setValues at (row, col), first growing the sheet in one call if the block passes its last row
 * or column ("The coordinates of the range are outside the dimensions of the sheet."). Rows are
 * added `step` at a time when the write needs fewer. A grid not seen yet costs no call: the
 * write is tried, and only a refusal (getRange throws before anything is written) reads the
 * grid, grows it and writes again. Null cells are written blank.
 */
function rbPut_(sheet, row, col, values, step) {
  values = values.map(function (r) { return r.map(function (c) { return c === null || c === undefined ? '' : c; }); });
  var lastRow = row + values.length - 1;
  var lastCol = col + values[0].length - 1;
  for (var attempt = 0; ; attempt += 1) {
    var id = sheet.getSheetId();
    var g = RB_GRID_[id];
    if (!g && attempt > 0) g = RB_GRID_[id] = { rows: sheet.getMaxRows(), cols: sheet.getMaxColumns() };
    g = g || { rows: Infinity, cols: Infinity };
    if (lastRow > g.rows) {
      var add = Math.max(lastRow - g.rows, step || 0);
      sheet.insertRowsAfter(g.rows, add);
      g.rows += add;
    }
    if (lastCol > g.cols) {
      sheet.insertColumnsAfter(g.cols, lastCol - g.cols);
      g.cols = lastCol;
    }
    try {
      sheet.getRange(row, col, values.length, values[0].length).setValues(values);
      return;
    } catch (e) {
      if (attempt > 0 || !/outside the dimensions/.test(String(e && e.message))) throw e;
      delete RB_GRID_[id];
    }
  }
}

/**
 * A ledger block as the core reads it: one read of an open-ended A1 range (`A2:E` runs to the
 * sheet's last row, so the grid's size comes with it), trailing blank rows dropped.
 */
function rbBlock_(sheet, range, firstRow) {
  var rows;
  try {
    rows = sheet.getRange(range).getValues();
    var g = RB_GRID_[sheet.getSheetId()];
    RB_GRID_[sheet.getSheetId()] = { rows: rows.length + firstRow - 1, cols: g ? g.cols : Infinity };
  } catch (e) {
    rows = []; // a sheet with no row under the header has no such range
  }
  var n = rows.length;
  while (n > 0 && rows[n - 1].every(function (v) { return v === ''; })) n -= 1;
  return { firstRow: firstRow, rows: rows.slice(0, n).map(function (r) { return r.map(function (v) { return v === '' ? null : v; }); }) };
}
