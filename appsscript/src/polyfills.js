/*
 * Web globals that wasm-bindgen's glue needs and Apps Script's V8 lacks. They are evaluated
 * before the glue, which constructs a TextDecoder and a TextEncoder as soon as it loads.
 * Only what is missing is defined, so the same file is harmless in a browser.
 */
(function (g) {
  'use strict';

  if (typeof g.TextEncoder === 'undefined') {
    g.TextEncoder = class TextEncoder {
      get encoding() {
        return 'utf-8';
      }

      encode(input) {
        const s = input === undefined ? '' : String(input);
        const out = new Uint8Array(s.length * 3);
        return out.slice(0, this.encodeInto(s, out).written);
      }

      /** Encodes as much of `input` as fits; returns UTF-16 units read and bytes written. */
      encodeInto(input, dest) {
        const s = String(input);
        let read = 0;
        let written = 0;
        while (read < s.length) {
          let cp = s.charCodeAt(read);
          let units = 1;
          if (cp >= 0xd800 && cp <= 0xdbff && read + 1 < s.length) {
            const lo = s.charCodeAt(read + 1);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              units = 2;
            }
          }
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate, as the standard says
          const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
          if (written + size > dest.length) break;
          if (size === 1) {
            dest[written] = cp;
          } else if (size === 2) {
            dest[written] = 0xc0 | (cp >> 6);
            dest[written + 1] = 0x80 | (cp & 63);
          } else if (size === 3) {
            dest[written] = 0xe0 | (cp >> 12);
            dest[written + 1] = 0x80 | ((cp >> 6) & 63);
            dest[written + 2] = 0x80 | (cp & 63);
          } else {
            dest[written] = 0xf0 | (cp >> 18);
            dest[written + 1] = 0x80 | ((cp >> 12) & 63);
            dest[written + 2] = 0x80 | ((cp >> 6) & 63);
            dest[written + 3] = 0x80 | (cp & 63);
          }
          written += size;
          read += units;
        }
        return { read: read, written: written };
      }
    };
  }

  if (typeof g.TextDecoder === 'undefined') {
    // Accepts the options wasm-bindgen passes ({ignoreBOM, fatal}); a polyfill that rejects
    // them breaks the glue at load time.
    g.TextDecoder = class TextDecoder {
      constructor(label, options) {
        const name = String(label === undefined ? 'utf-8' : label).trim().toLowerCase();
        if (name !== 'utf-8' && name !== 'utf8' && name !== 'unicode-1-1-utf-8') {
          throw new RangeError('TextDecoder: only utf-8 is supported, not ' + label);
        }
        this.fatal = Boolean(options && options.fatal);
        this.ignoreBOM = Boolean(options && options.ignoreBOM);
      }

      get encoding() {
        return 'utf-8';
      }

      decode(input) {
        if (input === undefined) return '';
        const bytes = ArrayBuffer.isView(input)
          ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
          : new Uint8Array(input);
        const fatal = this.fatal;
        const bad = function () {
          if (fatal) throw new TypeError('TextDecoder: the data is not valid utf-8');
          return 0xfffd;
        };
        let i = 0;
        if (!this.ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
        let out = '';
        let units = [];
        while (i < bytes.length) {
          const b = bytes[i];
          let cp;
          let need = 0;
          let min = 0;
          if (b < 0x80) {
            cp = b;
          } else if (b >= 0xc2 && b <= 0xdf) {
            cp = b & 31; need = 1; min = 0x80;
          } else if (b >= 0xe0 && b <= 0xef) {
            cp = b & 15; need = 2; min = 0x800;
          } else if (b >= 0xf0 && b <= 0xf4) {
            cp = b & 7; need = 3; min = 0x10000;
          } else {
            cp = bad();
          }
          i += 1;
          for (let k = 0; k < need; k += 1) {
            const c = bytes[i];
            if (c === undefined || (c & 0xc0) !== 0x80) {
              cp = bad();
              need = -1;
              break;
            }
            cp = (cp << 6) | (c & 63);
            i += 1;
          }
          if (need > 0 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) cp = bad();
          if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023));
          } else {
            units.push(cp);
          }
          if (units.length >= 8192) {
            out += String.fromCharCode.apply(null, units);
            units = [];
          }
        }
        return out + String.fromCharCode.apply(null, units);
      }
    };
  }

  if (typeof g.crypto === 'undefined') g.crypto = {};
  if (typeof g.crypto.getRandomValues !== 'function') {
    // Fills the array *in place* (getrandom hands over a view of wasm memory and reads it back
    // afterwards; a polyfill that returns a new array leaves zeros behind). Entropy comes from
    // Utilities.getUuid() (a random UUID, 30 freely random hex digits) where Apps Script
    // provides it, else Math.random.
    g.crypto.getRandomValues = function getRandomValues(array) {
      if (!ArrayBuffer.isView(array)) throw new TypeError('getRandomValues: expected a typed array');
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      const hasUuid = typeof Utilities !== 'undefined' && typeof Utilities.getUuid === 'function';
      let pool = '';
      for (let i = 0; i < bytes.length; i += 1) {
        if (!hasUuid) {
          bytes[i] = Math.floor(Math.random() * 256);
          continue;
        }
        if (pool.length < 2) {
          // Drop the version digit (position 12) and the variant digit (position 16).
          const hex = Utilities.getUuid().replace(/-/g, '');
          pool += hex.slice(0, 12) + hex.slice(13, 16) + hex.slice(17);
        }
        bytes[i] = parseInt(pool.slice(0, 2), 16);
        pool = pool.slice(2);
      }
      return array;
    };
  }
})(globalThis);
