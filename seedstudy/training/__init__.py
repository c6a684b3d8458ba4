"""One fine-tuning run: a (task, model, seed) in, per-example predictions out.

- ``config``: ``TrainConfig``, every training setting and its default (torch-free);
- ``seeds``: one seed, or a seed per source (head init, data order, dropout);
- ``models``: model aliases, loading (hub, local folder, random from a config), LoRA;
- ``gguf``: models shipped as a GGUF file, dequantised once into a cached folder;
- ``numerics``: precision and hardware: what ``auto`` resolves to, and the numerics record;
- ``machine``: device, thread count, and the process a run follows;
- ``features``: a tokenized split as flat NumPy arrays, padded into batches;
- ``cache``: tokenized inputs cached on disk (memory-mapped arrays);
- ``train``: the training loop and prediction;
- ``perf``: step timing and FLOP counts, for benchmarks and the doctor.
"""
