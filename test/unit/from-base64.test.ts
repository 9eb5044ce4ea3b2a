/** The step routes' base64 bodies (QStash's callbacks carry OpenAI's answer as base64) as text. */
import { describe, expect, it } from "vitest";
import { fromBase64 } from "../../src/steps/routes";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe("fromBase64", () => {
  it("decodes ASCII and UTF-8 text alike, and answers '' for what is not base64", () => {
    expect(fromBase64(b64('{"id":"resp_1","status":"completed"}'))).toBe(
      '{"id":"resp_1","status":"completed"}',
    );
    const unicode = '{"text":"héllo ✓ 你好 🎉"}';
    expect(fromBase64(b64(unicode))).toBe(unicode);
    expect(fromBase64("")).toBe("");
    expect(fromBase64("%%%")).toBe("");
  });
});
