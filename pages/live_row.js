// One row of the live board (pages/live.py), drawn in the browser from one `row` prop: a row is one
// element for NiceGUI, so an update of a session sends that row alone, and the page's render stays
// small (NiceGUI re-renders the whole element tree on every update: a board of 50 rows drawn as
// 1,500 elements cost the browser a third of a core at 25 events a second).
//
// NiceGUI hands every row a new slots object whenever any element of the page changes, which makes Vue
// render every row again: `v-memo` turns that into a comparison for the rows whose data did not change.
//
// Every text comes in as data and is shown with {{ }} (a text node): never v-html.
// "How long ago" ticks here, counted from the age the server sent (its clock, not the browser's), on
// one clock for the page: every row's age is redrawn in the same frame once a second, not each on a
// timer of its own.
import { reactive } from "vue";

const clock = reactive({ now: Date.now() });
setInterval(() => {
  clock.now = Date.now();
}, 1000);

// "just now", "20 s ago", "3 min ago"…: a component of its own, so the clock's tick redraws this text
// only, not the row around it. In steps (10 s, then minutes): a text that changes only at a step's
// end costs the browser no layout or paint in between, and a board of 50 rows ticking every second
// cost 20 open boards 0.4 of a core doing nothing else. Stuck is judged in minutes anyway.
const Ago = {
  template: `<span class="tabular-nums">{{ text }}</span>`,
  props: { age: Number },
  data() {
    return { base: Date.now() };
  },
  watch: {
    age() {
      this.base = Date.now();
    },
  },
  computed: {
    text() {
      const total = Math.max(0, Math.floor((this.age || 0) + (clock.now - this.base) / 1000));
      if (total < 10) return "just now";
      if (total < 60) return `${Math.floor(total / 10) * 10} s ago`;
      const minutes = Math.floor(total / 60);
      if (minutes < 60) return `${minutes} min ago`;
      const hours = Math.floor(minutes / 60);
      if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
      return `${Math.floor(hours / 24)} days ago`;
    },
  },
};

export default {
  components: { LiveAgo: Ago },
  template: `
    <tr :class="{ 'live-stuck': row.stuck }" v-memo="[row]">
      <td>
        <div class="font-medium">{{ row.player_name }}
          <q-badge v-if="row.test" color="purple-9" label="Test" class="q-ml-xs" /></div>
        <div class="text-caption text-grey-8 ellipsis" :title="row.player_email">{{ row.player_email }}</div>
      </td>
      <td v-if="row.organization_name !== undefined">{{ row.organization_name || '—' }}</td>
      <td>
        <div>{{ row.simulation_title }}</div>
        <div class="text-caption text-grey-8">{{ row.module_title }}</div>
      </td>
      <td>
        <div>{{ row.started }}</div>
        <div class="text-caption text-grey-8">{{ row.platform }}</div>
      </td>
      <td>
        <div v-if="!row.last" class="text-grey-8">No events yet</div>
        <template v-else>
          <div class="row items-center no-wrap q-gutter-x-xs">
            <q-badge outline color="grey-8" :label="row.last.kind" />
            <span class="text-caption text-grey-8">{{ row.last.received }}</span>
          </div>
          <div class="text-body2">{{ row.last.summary }}</div>
        </template>
      </td>
      <td>
        <div v-if="!row.scores.length" class="text-grey-8">—</div>
        <div v-else class="live-scores">
          <template v-for="score in row.scores" :key="score.key">
            <span class="text-grey-8">{{ score.label }}</span>
            <span class="text-right tabular-nums">{{ score.value }}</span>
            <span class="text-grey-8">/ {{ score.high }}</span>
          </template>
        </div>
      </td>
      <td class="text-no-wrap">
        <div><live-ago :age="row.age" /></div>
        <q-badge v-if="row.stuck" color="deep-orange-10" label="Stuck" />
      </td>
      <td class="live-actions">
        <div class="column items-start">
          <a v-if="row.href" :href="row.href" class="text-primary q-px-xs"
             :aria-label="'Open the session of ' + row.player_name">Open</a>
          <q-btn v-if="row.can_abandon" flat dense no-caps color="negative" label="Abandon"
                 :aria-label="'Abandon the session of ' + row.player_name" @click="$emit('abandon')" />
        </div>
      </td>
    </tr>
  `,
  props: {
    row: Object,
  },
  emits: ["abandon"],
};
