// The replies being written, outside React state: each delta frame adds
// to its reply's text here, and only the row showing that reply listens
// (useSyncExternalStore), so a delta re-renders one row, not the page.
// A reply frame closes its text: the conversation list then holds the
// whole reply, and deltas that arrive after it are ignored.

export type AppendResult = 'started' | 'appended' | 'ignored'

export class StreamStore {
  private texts = new Map<string, string>()
  private closed = new Set<string>()
  private listeners = new Map<string, Set<() => void>>()

  /* add `text` to the reply for `key` (a clientMsgId): 'started' for its
   * first piece (the caller adds its row), 'ignored' once it is closed */
  append(key: string, text: string): AppendResult {
    if (this.closed.has(key)) return 'ignored'
    const had = this.texts.get(key)
    this.texts.set(key, (had ?? '') + text)
    this.emit(key)
    return had === undefined ? 'started' : 'appended'
  }

  /* the reply for `key` arrived whole: forget its pieces */
  close(key: string) {
    this.closed.add(key)
    if (this.texts.delete(key)) this.emit(key)
  }

  /* the text so far ('' when none) */
  text(key: string): string {
    return this.texts.get(key) ?? ''
  }

  /* for useSyncExternalStore: `fn` runs when the text for `key` changes */
  subscribe(key: string, fn: () => void): () => void {
    let set = this.listeners.get(key)
    if (!set) this.listeners.set(key, (set = new Set()))
    set.add(fn)
    return () => {
      set.delete(fn)
      if (!set.size) this.listeners.delete(key)
    }
  }

  /* a cleared conversation: every text and every closed mark goes */
  clear() {
    const keys = [...this.texts.keys()]
    this.texts.clear()
    this.closed.clear()
    for (const k of keys) this.emit(k)
  }

  private emit(key: string) {
    for (const fn of this.listeners.get(key) ?? []) fn()
  }
}
