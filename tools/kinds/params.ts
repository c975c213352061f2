import { z } from "zod";

/** True when a string holds a C0 control character other than tab, newline or carriage return, or DEL. */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) return true;
  }
  return false;
}

/** Free text from the model: bounded, never empty, and no NUL or other control characters (one wording everywhere). */
export function freeText(maxLength: number, description: string) {
  return z
    .string()
    .min(1)
    .max(maxLength)
    .refine((value) => !hasControlCharacter(value), {
      message: "must not contain control characters (NUL and the like)",
    })
    .describe(description);
}
