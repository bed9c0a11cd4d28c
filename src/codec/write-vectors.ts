// Writes vectors.json from the reference codec: `node --import tsx src/codec/write-vectors.ts`.
// Run only when the vector set itself changes (the code never does); the test checks every build
// against the committed file. Node only; not imported by the library.
import { writeFileSync } from 'node:fs';
import { computeKnownAnswers } from './known-answer.ts';
import { createReferenceCodec } from './reference-codec.ts';

const answers = await computeKnownAnswers(createReferenceCodec());
writeFileSync(new URL('./vectors.json', import.meta.url), JSON.stringify(answers, null, 2) + '\n');
console.log(`wrote ${answers.frames.length} frame vectors`);
