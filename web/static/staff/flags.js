// Fraud flags: the warning shown with an account that has open flags, on
// the clerk's look-up before a new case and on every case page of the
// account. The flags come from the API (account_flags); text only.
import { el, t, when } from './common.js';

export function flagWarning(box, flags) {
  if (!box) return;
  const list = flags || [];
  box.replaceChildren();
  box.hidden = list.length === 0;
  if (!list.length) return;
  const line = (f) => t('flag.raised').replace(/\{(\w+)\}/g, (_, k) => String({
    category: t('flag.category.' + f.category), when: when(f.created_at), who: f.raised_by, case: f.case_id, reason: f.reason,
  }[k] ?? ''));
  box.append(el('strong', {}, '⚠ ' + t('flag.warning')),
    el('ul', {}, ...list.map((f) => el('li', { 'data-flag': f.id, 'data-category': f.category }, line(f)))));
}
