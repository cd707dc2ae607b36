import { useEffect, useRef } from "preact/hooks";

/**
 * Runs `onChange` when `key` changes after the first render, never on mount. A form that copies the address or
 * the server's values into its fields must not do it in a mount effect: effects run after the first paint, and
 * whatever the person (or a test) typed in between would be overwritten with the values it already had.
 */
export function useOnChange(key: string, onChange: () => void): void {
  const previous = useRef(key);
  useEffect(() => {
    if (previous.current === key) return;
    previous.current = key;
    onChange();
  }, [key]);
}
