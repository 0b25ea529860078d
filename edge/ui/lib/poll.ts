import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';

/** GET `path` now and every `everyMs` in the background; `reload` fetches again at once. */
export function usePoll<T>(path: string | null, everyMs: number) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return undefined;
    let alive = true;
    const load = () =>
      api.get<T>(path, { background: true }).then(
        (d) => {
          if (!alive) return;
          setData(d);
          setError(null);
        },
        (e: Error) => alive && setError(e.message),
      );
    void load();
    const timer = setInterval(() => void load(), everyMs);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [path, everyMs, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
