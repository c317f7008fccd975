// Asks for the API token when the API answers 401, and offers to forget
// a stored one. A native modal <dialog>: focus moves into it and stays
// there, Esc closes it, the page behind is inert.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { askForToken, closeTokenDialog, forgetApiToken, setApiToken, useTokenState } from '../api/token';

export function TokenDialog() {
  const { token, needed, asking } = useTokenState();
  const queryClient = useQueryClient();
  const ref = useRef<HTMLDialogElement>(null);
  const [draft, setDraft] = useState('');
  const ids = { title: useId(), help: useId(), input: useId() };
  const refused = needed && token !== '';

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (asking && !d.open) {
      d.showModal();
    } else if (!asking && d.open) {
      d.close();
    }
  }, [asking]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const t = draft.trim();
    if (!t) return;
    setApiToken(t);
    setDraft('');
    // Ask again for everything that was refused.
    void queryClient.invalidateQueries();
  };

  return (
    <dialog
      ref={ref}
      className="token-dialog"
      aria-labelledby={ids.title}
      aria-describedby={ids.help}
      onClose={closeTokenDialog}
    >
      <form onSubmit={submit}>
        <h2 id={ids.title}>API token needed</h2>
        <p id={ids.help}>
          This Coldtrace requires an API token (it runs with <code>--auth-token</code> or{' '}
          <code>--auth-tokens-file</code>). The token is kept in this browser and sent with every API call.
        </p>
        {refused && (
          <p className="form-error" role="alert">
            That token was refused. Check it and try again.
          </p>
        )}
        <label htmlFor={ids.input}>API token</label>
        <input
          id={ids.input}
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          autoFocus
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <div className="form-actions">
          <button type="submit" className="primary">
            Use token
          </button>
          <button type="button" onClick={closeTokenDialog}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** The top bar's token button: forget the stored token, or enter one the API asked for. */
export function TokenButton() {
  const { token, needed } = useTokenState();
  const queryClient = useQueryClient();
  if (token) {
    const forget = () => {
      forgetApiToken();
      // Drop what the token could read, and ask the API again without it.
      void queryClient.resetQueries();
    };
    return (
      <button type="button" className="icon-button" onClick={forget} title="Forget the API token kept in this browser">
        Forget token
      </button>
    );
  }
  if (needed) {
    return (
      <button type="button" className="icon-button" onClick={askForToken}>
        Enter token
      </button>
    );
  }
  return null;
}
