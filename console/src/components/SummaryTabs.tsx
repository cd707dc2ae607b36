import type { JSX } from "preact";
import { useRef, useState } from "preact/hooks";

type Length = "SHORT" | "MEDIUM" | "DETAILED";
const LENGTHS: [Length, string][] = [
  ["SHORT", "Short"],
  ["MEDIUM", "Medium"],
  ["DETAILED", "Detailed"],
];

/** A summary's text: "## " lines are headings, "- " lines list items, blank lines end paragraphs. Text only. */
function SummaryText({ text }: { text: string }) {
  const blocks: JSX.Element[] = [];
  let list: string[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) blocks.push(<p key={blocks.length}>{paragraph.join(" ")}</p>);
    if (list.length)
      blocks.push(
        <ul key={blocks.length}>
          {list.map((item, index) => (
            <li key={index}>{item}</li>
          ))}
        </ul>,
      );
    paragraph = [];
    list = [];
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    const bullet = /^[-*•]\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      blocks.push(<h3 key={blocks.length}>{heading[1]}</h3>);
    } else if (bullet) {
      if (paragraph.length) flush();
      list.push(bullet[1] ?? "");
    } else if (!line) {
      flush();
    } else {
      if (list.length) flush();
      paragraph.push(line);
    }
  }
  flush();
  return <div class="summary-text">{blocks}</div>;
}

/** SHORT / MEDIUM / DETAILED as tabs (arrow keys move between them, as the ARIA tabs pattern has it). */
export function SummaryTabs(summaries: { short: string | null; medium: string | null; detailed: string | null }) {
  const [selected, setSelected] = useState<Length>("MEDIUM");
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const text = { SHORT: summaries.short, MEDIUM: summaries.medium, DETAILED: summaries.detailed }[selected];

  function onKeyDown(event: KeyboardEvent, index: number) {
    const move = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: LENGTHS.length - 1 - index }[event.key];
    if (move === undefined) return;
    event.preventDefault();
    const next = (index + move + LENGTHS.length) % LENGTHS.length;
    const entry = LENGTHS[next];
    if (entry) {
      setSelected(entry[0]);
      tabs.current[next]?.focus();
    }
  }

  return (
    <div class="tabs">
      <div role="tablist" aria-label="Summary length">
        {LENGTHS.map(([length, label], index) => (
          <button
            key={length}
            type="button"
            role="tab"
            id={`summary-tab-${length}`}
            aria-selected={selected === length}
            aria-controls="summary-panel"
            tabIndex={selected === length ? 0 : -1}
            ref={(element) => {
              tabs.current[index] = element;
            }}
            onClick={() => setSelected(length)}
            onKeyDown={(event) => onKeyDown(event, index)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="summary-panel" aria-labelledby={`summary-tab-${selected}`} tabIndex={0}>
        {text ? <SummaryText text={text} /> : <p class="empty">No summary of this length.</p>}
      </div>
    </div>
  );
}
