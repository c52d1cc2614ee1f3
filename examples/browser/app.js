// The example page: loads a model folder (?model=URL, default ./model/) and streams what it
// generates. `node examples/browser/build.mjs` bundles it.
import { init, load } from 'mamba-ts';

const $ = (id) => document.getElementById(id);
const status = (text) => ($('status').textContent = text);

const backend = await init();
const modelUrl = new URLSearchParams(location.search).get('model') ?? './model/';
status(`loading ${modelUrl}`);
const lm = await load(modelUrl, {
  onDownload: (file, received, total) =>
    status(
      `downloading ${file}: ${(received / 2 ** 20).toFixed(1)}${total ? ` of ${(total / 2 ** 20).toFixed(1)}` : ''} MiB`,
    ),
});
status(`ready: ${backend.name} backend on ${backend.threads} thread(s)`);

let controller = null;
$('generate').disabled = false;
$('generate').onclick = async () => {
  controller = new AbortController();
  $('generate').disabled = true;
  $('stop').disabled = false;
  $('output').textContent = '';
  const started = performance.now();
  let pieces = 0;
  for await (const piece of lm.stream($('prompt').value, {
    maxNewTokens: Number($('tokens').value),
    signal: controller.signal,
  })) {
    $('output').textContent += piece;
    pieces++;
  }
  status(`done: ${pieces} pieces in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  $('generate').disabled = false;
  $('stop').disabled = true;
};
$('stop').onclick = () => controller?.abort();
