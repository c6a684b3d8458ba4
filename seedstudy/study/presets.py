"""Named studies: which tasks, model, seeds and per-task training budget.

``quick`` is the default study (``make reproduce``): real data, the real pretrained MiniLM, 5
seeds per task, sized to finish within 20 minutes on a 2-core CPU without bf16 hardware (fp32).
``cpu`` is the larger study the committed tables come from (7 tasks, ~30 min on 2 cores with
AMX bf16, hours in fp32). ``arms`` puts the reference study's two arms side by side at CPU size:
the quick study's MiniLM configurations and Gemma 3 270M with LoRA on the same tasks, seeds and
training subsets. ``smoke`` exercises every code path with a tiny random model in well under a
minute; its numbers mean nothing. Every preset but ``smoke`` computes in ``auto``
precision (``numerics.choose_precision``): bf16 where the hardware runs it natively, else fp32.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..training.config import TrainConfig
from ..training.seeds import Seeds
from ..training.seeds import grid as seed_grid


@dataclass(frozen=True)
class Preset:
    """A study: one training configuration per task, shared seeds, a description."""

    name: str
    description: str
    seeds: tuple  # integers, or seeds.Seeds with one seed per source
    configs: tuple[TrainConfig, ...]
    notes: dict[str, str] = field(default_factory=dict)
    # What one notebook execution (a task and model, all seeds) asks a Ray cluster for.
    num_cpus: float = 1
    num_gpus: float = 0

    def config_for(self, task: str, model: str | None = None) -> TrainConfig:
        """The configuration of one task (and model, when the preset has several) in this preset."""
        found = [c for c in self.configs if c.task == task and model in (None, c.model)]
        if not found:
            raise ValueError(f"task {task!r}{f' with model {model!r}' if model else ''} is not in "
                             f"preset {self.name!r}: expected one of "
                             f"{sorted({(c.task, c.model) for c in self.configs})}")
        if len(found) > 1:
            raise ValueError(f"preset {self.name!r} has {len(found)} configurations for {task!r} "
                             f"(models {[c.model for c in found]}); choose one with --model")
        return found[0]

    def configs_for(self, tasks: list[str]) -> list[TrainConfig]:
        """Every configuration (all models) of the named tasks, in preset order."""
        known = {c.task for c in self.configs}
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise ValueError(f"task(s) {unknown} not in preset {self.name!r}: expected some of "
                             f"{sorted(known)}")
        return [c for c in self.configs if c.task in tasks]


def _minilm(max_length: int) -> TrainConfig:
    """The MiniLM recipe of the CPU studies: lr 1e-4 and the given length; the rest is TrainConfig's
    defaults (batch 16, warm-up 10 %, weight decay 0.01, auto precision). Representations are
    stored (CKA beside CON): at 384 dimensions in float16, under 1.2 MB a run and no measurable time."""
    return TrainConfig(task="glue-sst2", model="minilm-l6", learning_rate=1e-4, max_length=max_length,
                       representations=True)


def _cpu() -> Preset:
    """The committed study: 7 tasks x 5 seeds with MiniLM-L6 (plus QNLI, skipped offline)."""
    base = _minilm(max_length=128)
    configs = (
        replace(base, task="glue-sst2", epochs=2, max_train_examples=1024),
        replace(base, task="glue-cola", epochs=3, max_train_examples=2048),
        replace(base, task="glue-stsb", epochs=3, max_train_examples=1024),
        replace(base, task="superglue-cb", epochs=6, max_train_examples=None),
        replace(base, task="superglue-wic", epochs=3, max_train_examples=1024),
        replace(base, task="superglue-copa", epochs=3, max_train_examples=None),
        # MultiRC counts questions (~5.3 answer options each): 300 training questions for 3
        # epochs is the least that left the all-"false" start in probes (F1a 0.19; 2 epochs: 0.005).
        replace(base, task="superglue-multirc", epochs=3, learning_rate=5e-5,
                max_train_examples=300, max_eval_examples=300),
        replace(base, task="glue-qnli", epochs=1, max_train_examples=1024),
    )
    notes = {"glue-qnli": "listed so that a missing training split is reported, not hidden: "
                          "QNLI train.tsv is not in the offline copy (it runs from the hub)"}
    return Preset("cpu", "MiniLM-L6 (pretrained), 5 seeds, training subsets sized for a 2-core CPU",
                  seeds=(1, 2, 3, 4, 5), configs=configs, notes=notes, num_cpus=2)


def _quick() -> Preset:
    """The default study: 4 tasks x 5 seeds with MiniLM-L6, sized for 20 minutes in fp32 on 2 cores.

    One task of each kind (single-sentence and pair classification, regression, multiple choice),
    each trained about as little as still beats its majority baseline clearly (one-seed probes,
    fp32: SST-2 accuracy 77.4 vs 50.9; CB macro-F1 46.1 vs 22.2; COPA 62 vs 45 (56 after 2
    epochs); CoLA at 1,024 x 2 stayed at MCC 0). STS-B trains on 768: at 512 one of five seeds
    reached Pearson 14.9 only (the others 51-72), and 2 epochs of 384 gave 6.4.
    """
    base = _minilm(max_length=64)
    configs = (
        replace(base, task="glue-sst2", epochs=2, max_train_examples=512),
        replace(base, task="glue-stsb", epochs=3, max_train_examples=768),
        replace(base, task="superglue-cb", epochs=3, max_length=96),
        replace(base, task="superglue-copa", epochs=3),
    )
    return Preset("quick", "MiniLM-L6 (pretrained), 5 seeds, 4 tasks sized for 20 minutes on a 2-core "
                  "CPU in fp32", seeds=(1, 2, 3, 4, 5), configs=configs, num_cpus=2)


# The decoder arm's recipe at CPU size: LoRA rank 8 on q/k/v/o (alpha 16, dropout 0.05: the paper
# preset's recipe at a smaller rank), lr 5e-4, evaluation batches of 64 (the fastest in bf16 on the
# machine that ran the study; held to AVX2 in fp32, 16 was 1.14x faster: benchmarks/lora_speed.py).
# Dropout stays: removing it saves ~10 % of a step but also a source of seed variation the recipe has.
GEMMA_LORA = dict(model="gemma3-270m", lora_rank=8, learning_rate=5e-4, eval_batch_size=64)
ARMS_TASKS = ("glue-sst2", "superglue-cb", "superglue-copa")


def _arms() -> Preset:
    """The quick study's encoder (MiniLM-L6, full fine-tuning) beside a decoder LLM (Gemma 3 270M,
    dequantised Q4_K_M, LoRA) on the quick tasks where the decoder clearly learns on a CPU budget.

    Same tasks, seeds (1-5), training subsets (``data_seed``), epochs and length limits; only the
    model and its recipe differ (``GEMMA_LORA``). One-seed probes of the decoder (bf16, lr 5e-4):
    SST-2 512 x 2 epochs 87.7 % (majority 50.9), COPA 400 x 3 71 % (majority 45), CB 250 x 3 at
    length 128 macro-F1 47.3 (majority 22.2). STS-B is left out (144 steps a seed, over twice
    SST-2's, and CON-PEAR has no interval for new seeds in ``report.arms`` yet), so is CoLA
    (MiniLM stays at MCC 0 on this budget).
    """
    quick = _quick()
    encoder = tuple(quick.config_for(t) for t in ARMS_TASKS)
    decoder = tuple(replace(c, **GEMMA_LORA) for c in encoder)
    return Preset("arms", "MiniLM-L6 (full) beside Gemma 3 270M (LoRA r=8) on SST-2, CB, COPA: same seeds "
                  "and subsets", seeds=quick.seeds, configs=encoder + decoder, num_cpus=2)


def _smoke() -> Preset:
    """A seconds-long study with tiny random models: code paths only, numbers are meaningless."""
    base = TrainConfig(task="glue-rte", model="tiny-bert", epochs=1, learning_rate=1e-3,
                       batch_size=16, max_length=64, max_train_examples=64, precision="fp32",
                       representations=True)
    configs = (replace(base, task="glue-rte"), replace(base, task="glue-stsb"),
               replace(base, task="superglue-cb"), replace(base, task="superglue-copa"),
               replace(base, task="superglue-multirc", max_train_examples=16, max_eval_examples=40),
               # the decoder arm: a tiny random Llama with LoRA adapters, pair task and multiple choice
               replace(base, task="superglue-rte", model="tiny-llama", lora_rank=4),
               replace(base, task="superglue-copa", model="tiny-llama", lora_rank=4))
    return Preset("smoke", "tiny random BERT and tiny random Llama (LoRA), 64 training examples, "
                  "3 seeds (tests only)",
                  seeds=(1, 2, 3), configs=configs)


# Training-set sizes of the large tasks (examples; ReCoRD: queries), from the GLUE and SuperGLUE papers.
LARGE_TASKS = {"glue-mnli": 392_702, "glue-qqp": 363_846, "glue-qnli": 104_743, "glue-sst2": 67_349,
               "superglue-record": 100_730}
LONG_INPUTS = {"superglue-boolq": 256, "superglue-multirc": 256, "superglue-record": 384}
# The reference study's tasks (Zhou et al., arXiv 2503.07329, §3) and seeds: 42, 52, ..., 82 in v1;
# a 10-seed study continues 92 ... 132 (ours: the paper stops at 5).
PAPER_TASKS = ("glue-cola", "glue-sst2", "glue-mrpc", "glue-stsb", "glue-qqp", "glue-qnli", "glue-rte",
               "superglue-rte", "superglue-cb", "superglue-wic", "superglue-boolq", "superglue-multirc",
               "superglue-copa")
PAPER_SEEDS = tuple(range(42, 133, 10))
# fairseq's RoBERTa GLUE recipe: lr 1e-5 except RTE and STS-B (2e-5); batch 32 for the large tasks
# (SST-2, QQP, QNLI, MNLI), 16 for the rest. SuperGLUE RTE is GLUE RTE's data: 2e-5 too.
FAIRSEQ_LR_2E5 = frozenset({"glue-rte", "glue-stsb", "superglue-rte"})


def _paper() -> Preset:
    """The reference study at full size: RoBERTa-large (full) and Llama-3.2-3B (LoRA), GPU.

    The paper's: its 13 tasks, seeds 42, 52, 62, 72, 82 (then 92 ... 132 for 10 seeds), train on
    train and evaluate on dev, RoBERTa-large fully fine-tuned with the fairseq GLUE recipe:
    10 epochs, warm-up 6 %, AdamW betas (0.9, 0.98), epsilon 1e-6, weight decay 0.1, lr 1e-5
    (2e-5 for RTE and STS-B), batch 16 (32 for SST-2, QQP, QNLI), max length 128 (run_glue.py's
    default). Ours, where the paper or fairseq say nothing: max length 256 for BoolQ and MultiRC
    passages; the same recipe for the SuperGLUE tasks; bf16 autocast; and the whole Llama-3.2-3B
    arm (LoRA rank 16, alpha 32, dropout 0.05 on q/k/v/o, head trained fully, lr 1e-4, batch 16,
    warm-up 3 %, no weight decay, 3 epochs (1 on the large tasks), max length 256 (512 for passages)).
    Deterministic CUDA kernels on (``numerics.determinism``): a seed study must see seed
    variation, not the scheduling noise of atomics (cost: see the README).
    """
    roberta = TrainConfig(task="glue-rte", model="roberta-large", epochs=10, learning_rate=1e-5,
                          batch_size=16, eval_batch_size=256, max_length=128, warmup_ratio=0.06,
                          weight_decay=0.1, adam_beta1=0.9, adam_beta2=0.98, adam_epsilon=1e-6,
                          precision="auto", deterministic=True)
    llama = TrainConfig(task="glue-rte", model="llama-3.2-3b", epochs=3, learning_rate=1e-4,
                        batch_size=16, eval_batch_size=64, max_length=256, warmup_ratio=0.03,
                        weight_decay=0.0, precision="auto", lora_rank=16, lora_alpha=32,
                        lora_dropout=0.05, lora_targets=("q_proj", "k_proj", "v_proj", "o_proj"),
                        deterministic=True)
    configs = []
    for key in PAPER_TASKS:
        large = key in LARGE_TASKS
        length = LONG_INPUTS.get(key)
        configs.append(replace(roberta, task=key, max_length=length or 128, batch_size=32 if large else 16,
                               learning_rate=2e-5 if key in FAIRSEQ_LR_2E5 else 1e-5))
        configs.append(replace(llama, task=key, max_length=2 * length if length else 256,
                               **(dict(epochs=1) if large else {})))
    return Preset("paper", "the reference study's 13 tasks: RoBERTa-large (full, fairseq GLUE recipe) and "
                  "Llama-3.2-3B (LoRA), seeds 42-132 (GPU)",
                  seeds=PAPER_SEEDS, configs=tuple(configs), num_cpus=4, num_gpus=1)


def _factorial() -> Preset:
    """Dodge et al. (2020)'s design on the CPU: 5 init x 5 data-order seeds, dropout seed fixed,
    plus the 5 diagonal cells run again with another dropout seed (i1-o1-d1 ... i5-o5-d1).

    COPA, CB and WiC with the cpu study's settings (30 runs each), for ``decompose``'s
    variance components by source; the replicated cells give the noise a mean square of its own
    (5 degrees of freedom), so the init x order interaction can be told from noise. COPA and WiC
    take ~25 min each on 2 cores, CB ~2x.
    """
    cpu = _cpu()
    configs = tuple(cpu.config_for(t) for t in ("superglue-copa", "superglue-cb", "superglue-wic"))
    replicated = tuple(Seeds(i, i, 1) for i in range(1, 6))
    return Preset("factorial", "5 head-init x 5 data-order seeds (dropout fixed) on COPA, CB, WiC, plus 5 "
                  "cells replicated with another dropout seed: where the variance comes from",
                  seeds=tuple(seed_grid(range(1, 6), range(1, 6), [0])) + replicated,
                  configs=configs, num_cpus=2)


PRESETS: dict[str, Preset] = {p.name: p for p in (_quick(), _cpu(), _arms(), _smoke(), _paper(),
                                                     _factorial())}
DEFAULT_PRESET = "quick"  # what `seedstudy reproduce` and `make reproduce` run


def get_preset(name: str) -> Preset:
    """Look a preset up by name."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: expected one of {sorted(PRESETS)}")
    return PRESETS[name]
