// scheduler.js -- the campaigns acting by themselves: the scheduler's
// state (ticks, runs, errors), each campaign's next due time and what it
// decided, continuous delivery's totals, pause and resume for admins, and
// for each journey where its users are, step by step.
import { get, post, session } from '../api.js';
import { t, fmt } from '../i18n.js';
import { h, title, section, table, facts, notice, errorNotice, button, chart, link } from '../ui.js';

function journeyView(j) {
  return h('div', { class: 'journey' },
    facts([['journey.users', fmt.num(j.users)], ['journey.held_out', fmt.num(j.held_out)],
      ['journey.reached_goal', fmt.num(j.reached_goal)], ['journey.left', fmt.num(j.left)], ['journey.on_the_way', fmt.num(j.on_the_way)]]),
    chart({
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: j.steps.map((s) => `${s.id} (${t(`step.${s.kind}`)})`) },
      yAxis: { type: 'value', name: t('journey.at_step') },
      series: [{ type: 'bar', name: t('journey.at_step'), data: j.steps.map((s) => s.users), barMaxWidth: 48 }],
    }, 'journey.at_step'),
    table([{ key: 'journey.arm', get: ([k]) => k, data: true }, { key: 'journey.users', get: ([, v]) => fmt.num(v), num: true }], Object.entries(j.by_arm || {})));
}

export default {
  roles: ['admin', 'analyst'],
  async render(args, rerender) {
    const s = await get('/v1/scheduler');
    const admin = session.me.role === 'admin';
    const out = h('div', { 'aria-live': 'polite' });
    const toggle = admin ? button(s.paused ? 'scheduler.resume' : 'scheduler.pause', async () => {
      try { await post(`/v1/scheduler/${s.paused ? 'resume' : 'pause'}`); rerender(); } catch (e) { out.replaceChildren(errorNotice(e)); }
    }, { id: 'sched-toggle' }) : null;
    const dl = s.delivery || {};
    const journeys = s.campaigns.filter((c) => c.kind === 'journey');
    const jviews = await Promise.all(journeys.map((c) => get(`/v1/campaigns/${encodeURIComponent(c.id)}/journey`).then(journeyView, errorNotice)));
    return [title('scheduler.title'),
      s.paused ? notice('warn', t('scheduler.paused_note')) : null,
      h('div', { class: 'two' },
        section('scheduler.state', facts([
          ['scheduler.status', t(s.paused ? 'scheduler.paused' : s.running ? 'scheduler.running' : 'scheduler.stopped')],
          ['scheduler.tick', t('scheduler.every_ms', { ms: fmt.num(s.tick_ms) })], ['scheduler.ticks', fmt.num(s.ticks)],
          ['scheduler.last_tick', fmt.time(s.last_tick)], ['scheduler.runs', fmt.num(s.runs)], ['scheduler.errors', fmt.num(s.errors)]]),
        h('div', { class: 'row' }, toggle), out),
        section('scheduler.delivery', facts([
          ['scheduler.delivering', t(dl.running ? 'common.yes' : 'common.no')], ['scheduler.posted', fmt.num(dl.posted)],
          ['scheduler.held', fmt.num(dl.held)], ['scheduler.failed', fmt.num(dl.failed)], ['scheduler.retries', fmt.num(dl.retries)],
          ['scheduler.last_error', h('span', { translate: 'no', text: dl.last_error || '–' })]]))),
      section('scheduler.campaigns', table([
        { key: 'campaigns.id', get: (c) => link(`#/campaigns/${encodeURIComponent(c.id)}`, c.id) },
        { key: 'campaigns.kind', get: (c) => t(`kind.${c.kind}`) },
        { key: 'scheduler.next_due', get: (c) => fmt.time(c.next_due) },
        { key: 'campaigns.runs', get: (c) => fmt.num(c.runs), num: true },
        { key: 'scheduler.decided', get: (c) => fmt.num(c.decided), num: true },
        { key: 'scheduler.delivered', get: (c) => fmt.num(c.delivered), num: true },
        { key: 'scheduler.errors', get: (c) => fmt.num(c.errors), num: true },
        { key: 'scheduler.last_error', get: (c) => c.last_error || '–', data: true },
      ], s.campaigns)),
      journeys.length ? section('scheduler.journeys', journeys.map((c, i) => [h('h3', { translate: 'no', text: c.id }), jviews[i]])) : null];
  },
};
