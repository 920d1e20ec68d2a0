// Evaluated inside the execution's context before the project's files: Apps Script's services
// as objects whose methods call the runtime (outside the context) synchronously, the way Apps
// Script's own services call Google's servers. Values cross as JSON, so every object the
// project sees was made in its own realm; dates travel as {$date: ms}.
(function (host, local) {
  'use strict';
  var g = globalThis;
  function revive(key, v) {
    return v !== null && typeof v === 'object' && typeof v.$date === 'number' && Object.keys(v).length === 1
      ? new Date(v.$date) : v;
  }
  function call(service, method, args) {
    var out = JSON.parse(host(service, method, JSON.stringify(args || [], function (k, v) {
      return this[k] instanceof Date ? { $date: this[k].getTime() } : v;
    })), revive);
    if (out.clock !== undefined) g.__rowbatchNow = out.clock;
    if (out.error) {
      var e = new Error(out.error);
      e.name = out.name || 'Exception';
      throw e;
    }
    return out.value;
  }

  function range(h) {
    var r = {
      getValues: function () { return call('range', 'getValues', [h]); },
      getDisplayValues: function () { return call('range', 'getDisplayValues', [h]); },
      getValue: function () { return call('range', 'getValues', [h])[0][0]; },
      setValues: function (values) { call('range', 'setValues', [h, values]); return r; },
      setValue: function (value) { call('range', 'setValue', [h, value]); return r; },
      getFormulas: function () { return call('range', 'getFormulas', [h]); },
      getNotes: function () { return call('range', 'getNotes', [h]); },
      setNotes: function (notes) { call('range', 'setNotes', [h, notes]); return r; },
      clearContent: function () { call('range', 'clearContent', [h]); return r; },
      setNumberFormat: function () { return r; },
      getRow: function () { return h.row; },
      getColumn: function () { return h.col; },
      getNumRows: function () { return h.rows; },
      getNumColumns: function () { return h.cols; },
      getLastRow: function () { return h.row + h.rows - 1; },
      getA1Notation: function () { return call('range', 'a1', [h]); },
      activate: function () { call('range', 'activate', [h]); return r; },
      getSheet: function () { return sheet(call('sheet', 'byId', [h.sheet])); },
    };
    return r;
  }

  function sheet(h) {
    if (!h) return null;
    var s = {
      getName: function () { return h.name; },
      getSheetId: function () { return h.id; },
      getLastRow: function () { return call('sheet', 'getLastRow', [h.id]); },
      getLastColumn: function () { return call('sheet', 'getLastColumn', [h.id]); },
      getMaxRows: function () { return call('sheet', 'getMaxRows', [h.id]); },
      getMaxColumns: function () { return call('sheet', 'getMaxColumns', [h.id]); },
      insertRowsAfter: function (after, n) { call('sheet', 'insertRowsAfter', [h.id, after, n === undefined ? 1 : n]); return s; },
      insertRowAfter: function (after) { call('sheet', 'insertRowsAfter', [h.id, after, 1]); return s; },
      insertRowsBefore: function (before, n) { call('sheet', 'insertRowsBefore', [h.id, before, n === undefined ? 1 : n]); return s; },
      insertRowBefore: function (before) { call('sheet', 'insertRowsBefore', [h.id, before, 1]); return s; },
      insertColumnsAfter: function (after, n) { call('sheet', 'insertColumnsAfter', [h.id, after, n === undefined ? 1 : n]); return s; },
      insertColumnsBefore: function (before, n) { call('sheet', 'insertColumnsBefore', [h.id, before, n === undefined ? 1 : n]); return s; },
      deleteRows: function (at, n) { call('sheet', 'deleteRows', [h.id, at, n]); return s; },
      deleteRow: function (at) { call('sheet', 'deleteRows', [h.id, at, 1]); return s; },
      getRange: function (a, b, c, d) { return range(call('sheet', 'getRange', [h.id, a, b, c, d])); },
      getDataRange: function () { return range(call('sheet', 'getDataRange', [h.id])); },
      appendRow: function (values) { call('sheet', 'appendRow', [h.id, values]); return s; },
      clear: function () { call('sheet', 'clear', [h.id]); return s; },
      hideSheet: function () { call('sheet', 'setHidden', [h.id, true]); return s; },
      showSheet: function () { call('sheet', 'setHidden', [h.id, false]); return s; },
      isSheetHidden: function () { return call('sheet', 'isHidden', [h.id]); },
      setFrozenRows: function () { return s; },
      getParent: function () { return spreadsheet; },
    };
    return s;
  }

  var spreadsheet = {
    getName: function () { return call('spreadsheet', 'getName'); },
    getId: function () { return call('spreadsheet', 'getId'); },
    getSheetByName: function (name) { return sheet(call('spreadsheet', 'getSheetByName', [name])); },
    getSheets: function () { return call('spreadsheet', 'getSheets').map(sheet); },
    insertSheet: function (name, index) { return sheet(call('spreadsheet', 'insertSheet', [name, index])); },
    getActiveSheet: function () { return sheet(call('spreadsheet', 'getActiveSheet')); },
    getActiveRange: function () { return range(call('spreadsheet', 'getActiveRange')); },
    toast: function (msg, title) { call('ui', 'toast', [String(msg), title ? String(title) : '']); },
  };

  var ui = {
    showSidebar: function (out) { call('ui', 'showSidebar', [out.getContent(), out.__title || '']); },
    showModalDialog: function (out, title) { call('ui', 'showSidebar', [out.getContent(), title || '']); },
    // alert(prompt) or alert(title, prompt, buttons): the answer is the runtime's `uiAnswer`
    // (YES by default) for a question, OK otherwise.
    alert: function (a, b, c) {
      var text = c === undefined ? String(a) : String(a) + '\n' + String(b);
      return call('ui', 'alert', [text, c === undefined ? 'OK' : String(c)]);
    },
    Button: { OK: 'OK', CANCEL: 'CANCEL', YES: 'YES', NO: 'NO', CLOSE: 'CLOSE' },
    ButtonSet: { OK: 'OK', OK_CANCEL: 'OK_CANCEL', YES_NO: 'YES_NO', YES_NO_CANCEL: 'YES_NO_CANCEL' },
    createMenu: function (name) {
      var items = [];
      var menu = {
        addItem: function (caption, fn) { items.push([caption, fn]); return menu; },
        addSeparator: function () { return menu; },
        addToUi: function () { call('ui', 'menu', [name, items]); },
      };
      return menu;
    },
  };

  g.SpreadsheetApp = {
    getActiveSpreadsheet: function () { return spreadsheet; },
    getActive: function () { return spreadsheet; },
    getActiveRange: function () { return spreadsheet.getActiveRange(); },
    getActiveSheet: function () { return spreadsheet.getActiveSheet(); },
    flush: function () { call('spreadsheet', 'flush'); },
    getUi: function () { return ui; },
  };

  function store(kind) {
    var p = {
      getProperty: function (k) { return call('properties', 'get', [kind, String(k)]); },
      setProperty: function (k, v) { call('properties', 'set', [kind, String(k), String(v)]); return p; },
      getProperties: function () { return call('properties', 'all', [kind]); },
      setProperties: function (o, deleteOthers) { call('properties', 'setAll', [kind, o, Boolean(deleteOthers)]); return p; },
      deleteProperty: function (k) { call('properties', 'delete', [kind, String(k)]); return p; },
      deleteAllProperties: function () { call('properties', 'deleteAll', [kind]); return p; },
      getKeys: function () { return Object.keys(call('properties', 'all', [kind])); },
    };
    return p;
  }
  g.PropertiesService = {
    getScriptProperties: function () { return store('script'); },
    getUserProperties: function () { return store('user'); },
    getDocumentProperties: function () { return store('document'); },
  };

  function cache(kind) {
    return {
      get: function (k) { return call('cache', 'get', [kind, String(k)]); },
      put: function (k, v, ttl) { call('cache', 'put', [kind, String(k), String(v), ttl === undefined ? 600 : ttl]); },
      remove: function (k) { call('cache', 'remove', [kind, String(k)]); },
    };
  }
  g.CacheService = {
    getScriptCache: function () { return cache('script'); },
    getUserCache: function () { return cache('user'); },
    getDocumentCache: function () { return cache('document'); },
  };

  function lock(kind) {
    return {
      tryLock: function (ms) { return call('lock', 'try', [kind, ms]); },
      waitLock: function (ms) {
        if (!call('lock', 'try', [kind, ms])) {
          var e = new Error('Lock timeout: another process was holding the lock for too long.');
          e.name = 'Exception';
          throw e;
        }
      },
      releaseLock: function () { call('lock', 'release', [kind]); },
      hasLock: function () { return call('lock', 'has', [kind]); },
    };
  }
  g.LockService = {
    getScriptLock: function () { return lock('script'); },
    getUserLock: function () { return lock('user'); },
    getDocumentLock: function () { return lock('document'); },
  };

  function trigger(t) {
    return {
      getUniqueId: function () { return t.id; },
      getHandlerFunction: function () { return t.fn; },
      getEventType: function () { return 'CLOCK'; },
      getTriggerSource: function () { return 'CLOCK'; },
    };
  }
  g.ScriptApp = {
    newTrigger: function (fn) {
      var spec = { fn: String(fn) };
      var b = {
        timeBased: function () { return b; },
        after: function (ms) { spec.after = ms; return b; },
        at: function (d) { spec.at = d; return b; },
        everyMinutes: function (n) { spec.every = n * 60000; return b; },
        create: function () { return trigger(call('triggers', 'create', [spec])); },
      };
      return b;
    },
    getProjectTriggers: function () { return call('triggers', 'list').map(trigger); },
    deleteTrigger: function (t) { call('triggers', 'delete', [t.getUniqueId()]); },
    getScriptId: function () { return call('session', 'scriptId'); },
    AuthMode: { FULL: 'FULL', LIMITED: 'LIMITED', NONE: 'NONE' },
    AuthorizationStatus: { REQUIRED: 'REQUIRED', NOT_REQUIRED: 'NOT_REQUIRED' },
    // getAuthorizationInfo(mode, scopes): whether these scopes still need the user's consent;
    // a scope the manifest does not list can never be granted.
    getAuthorizationInfo: function (mode, scopes) {
      var status = call('session', 'authorization', [scopes || []]);
      return { getAuthorizationStatus: function () { return status; }, getAuthorizationUrl: function () { return null; } };
    },
    getService: function () { return { getUrl: function () { return call('session', 'webAppUrl'); } }; },
  };

  function response(r) {
    return {
      getResponseCode: function () { return r.status; },
      getContentText: function () { return r.body; },
      getAllHeaders: function () { return r.headers; },
      getHeaders: function () { return r.headers; },
    };
  }
  // A payload object may hold blobs (a multipart upload): they cross to the host as plain data.
  function plain(r) {
    var out = Object.assign({}, r);
    if (r.payload && typeof r.payload === 'object' && !Array.isArray(r.payload)) {
      out.payload = {};
      Object.keys(r.payload).forEach(function (k) {
        var v = r.payload[k];
        out.payload[k] = v && v.__blob ? { __blob: true, data: v.getDataAsString(), contentType: v.getContentType(), name: v.getName() } : v;
      });
    }
    return out;
  }
  g.UrlFetchApp = {
    fetch: function (url, params) { return response(call('urlfetch', 'fetchAll', [[plain(Object.assign({ url: url }, params || {}))]])[0]); },
    fetchAll: function (requests) { return call('urlfetch', 'fetchAll', [requests.map(plain)]).map(response); },
  };

  function blob(data, contentType, name) {
    var b = {
      __blob: true,
      getDataAsString: function () { return data; },
      getContentType: function () { return contentType || 'application/octet-stream'; },
      getName: function () { return name || null; },
      setName: function (n) { name = n; return b; },
      getBytes: function () { return Array.from(new TextEncoder().encode(data)).map(function (x) { return x > 127 ? x - 256 : x; }); },
    };
    return b;
  }

  g.Utilities = {
    newBlob: function (data, contentType, name) { return blob(String(data), contentType, name); },
    sleep: function (ms) { call('utilities', 'sleep', [ms]); },
    getUuid: function () { return call('utilities', 'uuid'); },
    base64Encode: function (data) { return call('utilities', 'base64Encode', [typeof data === 'string' ? data : Array.prototype.slice.call(data)]); },
    base64Decode: function (text) { return local.base64Decode(String(text)); },
    computeDigest: function (alg, value) { return call('utilities', 'digest', [alg, value]); },
    DigestAlgorithm: { MD5: 'md5', SHA_1: 'sha1', SHA_256: 'sha256', SHA_512: 'sha512' },
    formatDate: function (d, tz, fmt) { return call('utilities', 'formatDate', [d, tz, fmt]); },
  };
  g.MailApp = {
    sendEmail: function (to, subject, body) { call('mail', 'send', [String(to), String(subject), String(body)]); },
    getRemainingDailyQuota: function () { return call('mail', 'quota'); },
  };
  g.Session = {
    getActiveUser: function () { return { getEmail: function () { return call('session', 'user'); } }; },
    getEffectiveUser: function () { return { getEmail: function () { return call('session', 'user'); } }; },
    getScriptTimeZone: function () { return 'Etc/UTC'; },
  };

  function htmlOutput(content) {
    var o = {
      __title: '',
      getContent: function () { return content; },
      setTitle: function (t) { o.__title = String(t); return o; },
      setWidth: function () { return o; },
      setHeight: function () { return o; },
      setSandboxMode: function () { return o; },
      append: function (s) { content += s; return o; },
    };
    return o;
  }
  g.HtmlService = {
    createHtmlOutput: function (html) { return htmlOutput(String(html || '')); },
    createHtmlOutputFromFile: function (name) { return htmlOutput(call('html', 'file', [String(name)])); },
    createTemplateFromFile: function (name) {
      var source = call('html', 'file', [String(name)]);
      return { evaluate: function () { return htmlOutput(source); } };
    },
    SandboxMode: { IFRAME: 'IFRAME' },
  };
  g.ContentService = {
    createTextOutput: function (text) {
      var o = { text: String(text || ''), mime: 'text/plain' };
      o.setMimeType = function (m) { o.mime = m; return o; };
      o.getContent = function () { return o.text; };
      return o;
    },
    MimeType: { JSON: 'application/json', TEXT: 'text/plain' },
  };

  function log() {
    call('log', 'line', [Array.prototype.map.call(arguments, function (a) {
      return typeof a === 'string' ? a : JSON.stringify(a);
    }).join(' ')]);
  }
  g.Logger = { log: log };
  g.console = { log: log, info: log, warn: log, error: log };
})(globalThis.__rowbatchHost, globalThis.__rowbatchLocal);
delete globalThis.__rowbatchHost;
delete globalThis.__rowbatchLocal;
