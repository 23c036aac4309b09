/**
 * A strict reader for the filter's configuration: one flat JSON object (RFC 8259) whose values are
 * strings, numbers, booleans or null. Nested objects and arrays are rejected with the field named,
 * because the configuration has none; that keeps the reader small and the errors exact.
 * Runs only in proxy_on_configure, so it may allocate.
 */

/** One configuration value. kind: 0 string, 1 number, 2 boolean, 3 null. */
export class JsonValue {
  constructor(public kind: i32, public text: string, public num: f64, public flag: bool) {}
}

export class JsonObject {
  keys: string[] = [];
  values: JsonValue[] = [];
  /** Empty when parsing succeeded, else the reason. */
  error: string = '';

  indexOf(key: string): i32 {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return i;
    return -1;
  }
}

class Reader {
  pos: i32 = 0;
  error: string = '';
  constructor(public s: string) {}

  fail(msg: string): void {
    if (this.error.length == 0) this.error = msg + ' at offset ' + this.pos.toString();
  }
  skipSpace(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }
  peek(): i32 {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }
  expect(c: i32): bool {
    this.skipSpace();
    if (this.peek() != c) {
      this.fail('expected "' + String.fromCharCode(c) + '"');
      return false;
    }
    this.pos++;
    return true;
  }
  readString(): string {
    if (!this.expect(0x22)) return '';
    let out = '';
    let start = this.pos;
    while (true) {
      if (this.pos >= this.s.length) {
        this.fail('unterminated string');
        return '';
      }
      const c = this.s.charCodeAt(this.pos);
      if (c == 0x22) break;
      if (c < 0x20) {
        this.fail('control character in string');
        return '';
      }
      if (c == 0x5c) {
        out += this.s.substring(start, this.pos);
        this.pos++;
        const e = this.peek();
        this.pos++;
        if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
        else if (e == 0x62) out += '\b';
        else if (e == 0x66) out += '\f';
        else if (e == 0x6e) out += '\n';
        else if (e == 0x72) out += '\r';
        else if (e == 0x74) out += '\t';
        else if (e == 0x75 && this.pos + 4 <= this.s.length) {
          const code = I32.parseInt(this.s.substring(this.pos, this.pos + 4), 16);
          this.pos += 4;
          out += String.fromCharCode(code);
        } else {
          this.fail('bad escape');
          return '';
        }
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    out += this.s.substring(start, this.pos);
    this.pos++;
    return out;
  }
}

/** Parses `text` as one flat JSON object; on failure `error` says why and where. */
export function parseJsonObject(text: string): JsonObject {
  const obj = new JsonObject();
  const r = new Reader(text);
  if (!r.expect(0x7b)) {
    obj.error = 'configuration is not a JSON object: ' + r.error;
    return obj;
  }
  r.skipSpace();
  if (r.peek() == 0x7d) {
    r.pos++;
  } else {
    while (r.error.length == 0) {
      r.skipSpace();
      const key = r.readString();
      if (!r.expect(0x3a)) break;
      r.skipSpace();
      const c = r.peek();
      let value: JsonValue = new JsonValue(3, "", 0, false);
      if (c == 0x22) {
        value = new JsonValue(0, r.readString(), 0, false);
      } else if (c == 0x74 && r.s.substr(r.pos, 4) == 'true') {
        r.pos += 4;
        value = new JsonValue(2, '', 0, true);
      } else if (c == 0x66 && r.s.substr(r.pos, 5) == 'false') {
        r.pos += 5;
        value = new JsonValue(2, '', 0, false);
      } else if (c == 0x6e && r.s.substr(r.pos, 4) == 'null') {
        r.pos += 4;
        value = new JsonValue(3, '', 0, false);
      } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
        const start = r.pos;
        r.pos++;
        while (r.pos < r.s.length) {
          const d = r.s.charCodeAt(r.pos);
          if (!((d >= 0x30 && d <= 0x39) || d == 0x2e || d == 0x65 || d == 0x45 || d == 0x2b || d == 0x2d)) break;
          r.pos++;
        }
        const num = F64.parseFloat(r.s.substring(start, r.pos));
        if (isNaN(num)) r.fail('bad number');
        value = new JsonValue(1, '', num, false);
      } else if (c == 0x7b || c == 0x5b) {
        obj.error = 'field "' + key + '": nested objects and arrays are not supported';
        return obj;
      } else {
        r.fail('unexpected character');
        break;
      }
      if (obj.indexOf(key) >= 0) {
        obj.error = 'field "' + key + '" appears twice';
        return obj;
      }
      obj.keys.push(key);
      obj.values.push(value);
      r.skipSpace();
      if (r.peek() == 0x2c) {
        r.pos++;
        continue;
      }
      r.expect(0x7d);
      break;
    }
  }
  r.skipSpace();
  if (r.error.length == 0 && r.pos != r.s.length) r.fail('trailing characters');
  if (r.error.length > 0) obj.error = 'configuration is not valid JSON: ' + r.error;
  return obj;
}
