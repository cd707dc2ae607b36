import type { CombinedError } from "@urql/core";
import { describe, describeCombined, type PublicError } from "../lib/errors";

/** An error as a sentence, announced to screen readers when it appears. */
export function ErrorMessage({ error, public: publicError }: { error?: CombinedError | null; public?: PublicError | null }) {
  const text = publicError ? describe(publicError) : describeCombined(error);
  if (!text) return null;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}
