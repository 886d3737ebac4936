// tests/bench/nlu/nlpjs.js TRAIN.tsv DEV.tsv OUT.json - the NLP.js peer:
// trains node-nlp's NlpManager on the training rows (label<TAB>text) and
// classifies the dev rows with its NLU (nlp.classify: the intent model
// alone, without the entity extraction and sentiment that process() adds).
// Writes {labels, scores, train_seconds, per_second} for peers.py score.
'use strict';
const fs = require('fs');
const { NlpManager } = require('node-nlp');

function readTsv(path) {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const i = l.indexOf('\t');
      return [l.slice(0, i), l.slice(i + 1)];
    });
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main() {
  const [train, dev, out] = process.argv.slice(2);
  const manager = new NlpManager({
    languages: ['en'],
    autoSave: false,
    autoLoad: false,
    nlu: { log: false },
  });
  for (const [label, text] of readTsv(train)) manager.addDocument('en', text, label);
  let t = process.hrtime.bigint();
  await manager.train();
  const trainSeconds = Number(process.hrtime.bigint() - t) / 1e9;

  const rows = readTsv(dev);
  const labels = [];
  const scores = [];
  // the fastest of three passes, in this process's CPU time (one thread)
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const c = cpuSeconds();
    for (let i = 0; i < rows.length; i++) {
      const r = await manager.nlp.classify('en', rows[i][1]);
      if (round === 0) {
        const top = r.classifications && r.classifications[0];
        labels.push(top ? top.intent : 'None');
        scores.push(top ? top.score : 0);
      }
    }
    const el = cpuSeconds() - c;
    best = Math.max(best, rows.length / el);
  }
  fs.writeFileSync(out, JSON.stringify({ labels, scores, train_seconds: trainSeconds, per_second: best }));
}

main().catch((e) => {
  fs.writeFileSync(process.argv[4], JSON.stringify({ skipped: `NLP.js failed: ${e.message}` }));
  process.exit(0);
});
