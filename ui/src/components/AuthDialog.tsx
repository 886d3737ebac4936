// Sign in and sign up.  Both keep the conversation and merge the
// anonymous cart into the account (the server does the merge).
import { useState, type FormEvent } from 'react'
import { ApiError } from '../api/client'
import { useApp } from '../state'
import { Modal } from './Modal'

export function AuthDialog({ mode }: { mode: 'signin' | 'signup' }) {
  const { api, open, afterAuth, signedIn, notify } = useApp()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const signup = mode === 'signup'

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError('')
    if (signup && password.length < 8) {
      setError('The password needs at least 8 characters.')
      return
    }
    setBusy(true)
    try {
      const u = signup ? await api.register(email.trim(), password, name.trim()) : await api.login(email.trim(), password)
      notify('info', signup ? `Welcome, ${u.name || u.email}! Your account is ready.` : `Signed in as ${u.email}.`, 'account')
      signedIn()
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid-credentials') setError('Wrong e-mail or password.')
      else if (err instanceof ApiError && err.code === 'email-taken') setError('An account with this e-mail exists. Sign in instead.')
      else setError(err instanceof ApiError ? err.describe() : String(err))
    } finally {
      setBusy(false)
    }
  }

  const field = 'mt-1 w-full rounded-md border border-slate-300 px-3 py-2'
  return (
    <Modal title={signup ? 'Create an account' : 'Sign in'} onClose={() => open(null)} testId="auth-dialog">
      <form onSubmit={submit} className="space-y-4 p-4" noValidate>
        {afterAuth === 'checkout' && (
          <p className="rounded bg-brand-50 p-2 text-sm text-brand-800">Sign in or create an account to place your order. Your cart comes with you.</p>
        )}
        {signup && (
          <label className="block text-sm font-medium">Name
            <input className={field} value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" data-autofocus />
          </label>
        )}
        <label className="block text-sm font-medium">E-mail
          <input className={field} type="email" required value={email} onChange={(e) => setEmail(e.target.value)}
            autoComplete="email" {...(!signup ? { 'data-autofocus': true } : {})} />
        </label>
        <label className="block text-sm font-medium">Password
          <input className={field} type="password" required minLength={signup ? 8 : undefined} value={password}
            onChange={(e) => setPassword(e.target.value)} autoComplete={signup ? 'new-password' : 'current-password'}
            aria-describedby={signup ? 'pw-hint' : undefined} />
        </label>
        {signup && <p id="pw-hint" className="-mt-3 text-xs text-slate-500">At least 8 characters.</p>}
        <p role="alert" className="min-h-5 text-sm text-rose-700">{error}</p>
        <button type="submit" disabled={busy}
          className="w-full rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800 disabled:bg-slate-400">
          {busy ? 'Please wait…' : signup ? 'Create account' : 'Sign in'}
        </button>
        <p className="text-center text-sm">
          {signup ? 'Have an account? ' : 'New here? '}
          <button type="button" className="font-medium text-brand-700 underline" onClick={() => open(signup ? 'signin' : 'signup', afterAuth)}>
            {signup ? 'Sign in' : 'Create an account'}
          </button>
        </p>
      </form>
    </Modal>
  )
}
