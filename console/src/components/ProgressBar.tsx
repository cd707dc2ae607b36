/** A labelled progress bar (0–100) that assistive technology reads as one. */
export function ProgressBar({ value, label, tone }: { value: number; label: string; tone?: "done" | "failed" }) {
  const clamped = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div
      class={`progress${tone ? ` progress-${tone}` : ""}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={clamped}
      aria-valuetext={`${clamped}%`}
    >
      <div class="progress-fill" style={{ width: `${clamped}%` }} />
    </div>
  );
}
