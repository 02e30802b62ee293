#!/usr/bin/env bash
# make base: rebuild the committed tailworld base policy bit for bit
# (docs/BASE.md). Writes the corpus and the run under runs/base-tailworld/,
# then copies the final checkpoint into assets/tailworld-base/ with SHA256SUMS.
#   RFT=bin/rft WORK=runs/base-tailworld scripts/make-base.sh
set -euo pipefail
RFT=${RFT:-bin/rft}
WORK=${WORK:-runs/base-tailworld}
ASSETS=${ASSETS:-assets/tailworld-base}
CONFIG=${CONFIG:-configs/base-tailworld.yaml}

start=$(date +%s)
rm -rf "$WORK"
mkdir -p "$WORK" "$ASSETS"
"$RFT" tailworld corpus --seed 1 --n 1000 --worlds 12 --per-prompt 1 --drills 500 --copies 1500 --lists 1000 --chat --out "$WORK/corpus.jsonl"
"$RFT" pretrain --config "$CONFIG" --set data.train="$WORK/corpus.jsonl" --out "$WORK/run"
final=$(ls -d "$WORK"/run/checkpoints/step-* | sort | tail -n 1)
for f in config.json generation_config.json model.safetensors tokenizer.json; do
	cp "$final/$f" "$ASSETS/$f.tmp" && mv "$ASSETS/$f.tmp" "$ASSETS/$f"
done
(cd "$ASSETS" && sha256sum config.json generation_config.json model.safetensors tokenizer.json > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
cat "$ASSETS/SHA256SUMS"
echo "base: $final -> $ASSETS in $(( $(date +%s) - start )) s"
