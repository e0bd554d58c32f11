import t from 'tap';
import { histogramSamples, renderExposition } from '../../src/reconciler/exposition.js';

t.test('label values and help text are escaped as the text format requires', async (t) => {
  const text = renderExposition([{ name: 'tend_x', help: 'a \\ b\nc', type: 'gauge', samples: [{ labels: { v: 'q"uote\\back\nline' }, value: 1 }] }]);
  t.equal(text, '# HELP tend_x a \\\\ b\\nc\n# TYPE tend_x gauge\ntend_x{v="q\\"uote\\\\back\\nline"} 1\n');
});

t.test('special values and a histogram with its +Inf bucket, sum and count', async (t) => {
  const cases: [number, string][] = [[Infinity, '+Inf'], [-Infinity, '-Inf'], [NaN, 'NaN'], [0.25, '0.25'], [1e21, '1e+21']];
  for (const [n, shown] of cases) t.match(renderExposition([{ name: 'g', help: 'h', type: 'gauge', samples: [{ labels: {}, value: n }] }]), new RegExp(`\\ng ${shown.replace('+', '\\+')}\\n`), shown);
  const samples = histogramSamples({}, [0.1, 1], [2, 5], 1.5, 6);
  t.same(samples.map((s) => `${s.suffix}${JSON.stringify(s.labels)} ${s.value}`), ['_bucket{"le":"0.1"} 2', '_bucket{"le":"1"} 5', '_bucket{"le":"+Inf"} 6', '_sum{} 1.5', '_count{} 6']);
});
