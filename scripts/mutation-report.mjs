#!/usr/bin/env node
// Prints, from Stryker's JSON reports (reports/mutation/<folder>.json), the score per file and the
// surviving and uncovered mutants as Markdown, for docs/mutation.md.
// `node scripts/mutation-report.mjs media codec`.
import { existsSync, readFileSync } from 'node:fs';

for (const folder of process.argv.slice(2)) {
  const path = `reports/mutation/${folder}.json`;
  if (!existsSync(path)) {
    console.log(`## ${folder}\n\nnot run yet\n`);
    continue;
  }
  const r = JSON.parse(readFileSync(path, 'utf8'));
  const rows = [];
  const live = [];
  const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  for (const [file, d] of Object.entries(r.files)) {
    const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
    for (const m of d.mutants) {
      if (m.status in n) n[m.status]++;
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        const src = d.source.split('\n')[m.location.start.line - 1].trim();
        live.push(`- ${file}:${m.location.start.line} ${m.status === 'NoCoverage' ? '(no test runs it) ' : ''}${m.mutatorName}: \`${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60)}\` in \`${src.slice(0, 70)}\``);
      }
    }
    for (const k of Object.keys(total)) total[k] += n[k];
    const valid = n.Killed + n.Timeout + n.Survived + n.NoCoverage;
    rows.push(`| ${file} | ${valid ? ((100 * (n.Killed + n.Timeout)) / valid).toFixed(1) : '-'} % | ${n.Killed} | ${n.Timeout} | ${n.Survived} | ${n.NoCoverage} |`);
  }
  const valid = total.Killed + total.Timeout + total.Survived + total.NoCoverage;
  console.log(`## ${folder}: ${((100 * (total.Killed + total.Timeout)) / valid).toFixed(1)} %\n`);
  console.log('| file | score | killed | timeout | survived | no coverage |\n| --- | --- | --- | --- | --- | --- |');
  console.log(rows.join('\n'));
  console.log(`\nSurviving and uncovered mutants (${live.length}):\n`);
  console.log(live.join('\n'));
  console.log('');
}
