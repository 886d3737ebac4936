import { describe, expect, it } from 'vitest'
import { addUserMessage, applyDelta, applyError, applyReply, loadConversation, saveConversation, unanswered } from './conversation'

describe('conversation', () => {
  it('streams deltas into one assistant message, then the reply replaces it', () => {
    let m = addUserMessage([], 'boots', 'c1', true)
    m = applyDelta(m, 'I fou', 'c1')
    m = applyDelta(m, 'nd 2', 'c1')
    expect(m).toHaveLength(2)
    expect(m[1]).toMatchObject({ role: 'assistant', text: 'I found 2', status: 'streaming' })
    m = applyReply(m, { type: 'reply', clientMsgId: 'c1', text: 'I found 2 boots', cards: [{ sku: 'A', title: 'A', price: 1 }], suggestions: ['more'] })
    expect(m).toHaveLength(2)
    expect(m[0].status).toBe('answered')
    expect(m[1]).toMatchObject({ text: 'I found 2 boots', status: 'done', suggestions: ['more'] })
    expect(m[1].cards).toHaveLength(1)
  })

  it('a replayed answer to a message already answered adds nothing', () => {
    let m = addUserMessage([], 'hi', 'c1', true)
    m = applyReply(m, { type: 'reply', clientMsgId: 'c1', text: 'Hello', cards: [], suggestions: [] })
    const again = applyReply(m, { type: 'reply', clientMsgId: 'c1', text: 'Hello', cards: [], suggestions: [], replayed: true })
    expect(again.filter((x) => x.role === 'assistant')).toHaveLength(1)
  })

  it('puts an answer right after its question', () => {
    let m = addUserMessage([], 'one', 'c1', true)
    m = addUserMessage(m, 'two', 'c2', true)
    m = applyReply(m, { type: 'reply', clientMsgId: 'c1', text: 'ONE', cards: [], suggestions: [] })
    expect(m.map((x) => x.text)).toEqual(['one', 'ONE', 'two'])
  })

  it('keeps unanswered messages for a resend and survives a reload', () => {
    let m = addUserMessage([], 'queued', 'q1', false)
    m = addUserMessage(m, 'done', 'd1', true)
    m = applyReply(m, { type: 'reply', clientMsgId: 'd1', text: 'ok', cards: [], suggestions: [] })
    saveConversation(m)
    const back = loadConversation()
    expect(back).toEqual(m)
    expect(unanswered(back).map((x) => x.clientMsgId)).toEqual(['q1'])
    // a day later the server no longer remembers it: not sent again
    expect(unanswered(back, Date.now() + 24 * 3600 * 1000)).toEqual([])
  })

  it('an error for a message marks it failed and says why; a 429 does not', () => {
    let m = addUserMessage([], 'x', 'c1', true)
    expect(applyError(m, { type: 'error', status: 429, code: 'rate-limited', title: 'Too many requests', clientMsgId: 'c1' })).toBe(m)
    m = applyError(m, { type: 'error', status: 413, code: 'message-too-long', title: 'Message too long', clientMsgId: 'c1' })
    expect(m[0].status).toBe('failed')
    expect(m[1]).toMatchObject({ role: 'system', text: 'Message too long' })
  })
})
