"""Constants of format version 1. Changing any of them changes encoded bytes (bump the format)."""

# Entropy coder: every symbol is coded with integer frequencies summing to 2**FREQ_BITS.
FREQ_BITS = 16
FREQ_TOTAL = 1 << FREQ_BITS

# rANS lane state: 64-bit, renormalised 32 bits at a time, kept in [RANS_LOW, RANS_LOW << 32).
RANS_LOW = 1 << 31
RANS_WORD_BITS = 32

# Fixed-point probability domain of the predictors: P(bit = 1) in units of 2**-PROB_BITS.
PROB_BITS = 16
# Logistic ("stretch") domain: ln(p / (1 - p)) * STRETCH_SCALE, clamped to +-STRETCH_LIMIT.
STRETCH_SCALE = 256
STRETCH_LIMIT = 3072

# Nucleotide alphabet of the coded body, in symbol order.
ALPHABET = b"ACGT"

# Blocks and lanes.
DEFAULT_BLOCK_SIZE = 8 << 20          # original bytes per block (the unit of buffering)
MAX_BLOCK_SIZE = 16 << 20            # largest block a reader accepts (bounds decoder memory)
MAX_LANES = 4096                      # largest lane count a reader accepts
MIN_LANE_BASES = 8192                  # lanes are at least this long (fewer lanes for small blocks)
# Bases per lane by level: more lanes mean fewer (vectorised) steps, so more speed; every lane costs a
# coder flush and a cold context start (a few bytes). spec/LEVELS.md has the ladder.
LEVEL_LANE_BASES = {1: 8192, 2: 8192, 3: 4096, 4: 8192, 5: 8192, 6: 8192, 7: 16384, 8: 16384, 9: 32768}
# Lane length when the level's model switched to a primed one (codec/model_choice.py): on input like
# the training set a lane's flush and cold start are a large share of the archive (about 10 bytes of
# 30-50), so fewer, longer lanes pay.
PRIMED_LANE_BASES = {5: 16384, 6: 16384, 7: 32768, 8: 32768, 9: 65536}

# Case-run coder (the `case_runs` packing of the case stream, format 1.1; codec/case_runs.py):
# adaptive binary range coding of the run lengths with CASE_PROB_BITS-bit probabilities from counts
# halved above CASE_COUNT_LIMIT; a length v is coded as n = v + 1 in Elias-gamma form, k = bit
# length - 1 in unary (at most CASE_MAX_EXPONENT), then n's k low bits, the first
# CASE_MODELLED_BITS of them with the bits above them as context.
CASE_PROB_BITS = 12
CASE_COUNT_LIMIT = 255
CASE_MAX_EXPONENT = 40
CASE_MODELLED_BITS = 3
