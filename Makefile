# archscale — set-up, tests, benchmarks, demo. Needs only python3.11 (or newer) and pip.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test test-slow mutants bench demo report dimensions readme clean reliability

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,ray]"
	touch $(STAMP)

venv: $(STAMP)

## Run the whole test suite (creates .venv and installs everything first): the import-linter
## layer contract (pyproject.toml) first, then pytest in two passes: every test not marked
## `serial` on $(TEST_WORKERS) pytest-xdist workers (a test file is the unit handed out), then
## the `serial` ones (bounded by real timings, or starting a Ray cluster) alone. Both passes
## run; the target fails if either does.
TEST_WORKERS ?= 2
PYTEST_PASSES = $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not serial" $(1); \
	parallel=$$?; $(PY) -m pytest -q -m serial $(1); serial=$$?; \
	[ $$parallel -eq 0 ] && [ $$serial -eq 0 ]

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(call PYTEST_PASSES,)

## The whole suite plus the tests marked slow (profiler parity of the deepest presets).
test-slow: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(call PYTEST_PASSES,--run-slow)

## Mutation testing (mutmut) of the cost rules, memory model, Pareto front, store, planner,
## timing loop and heuristic rules, each against its own tests; prints the score table.
mutants: $(STAMP)
	$(PY) tools/mutants.py

## The fault and bad-input tests, summarised in reports/reliability/ (faults injected by kind,
## bad inputs tried, results lost and duplicated: both must be 0).
reliability: $(STAMP)
	$(PY) tools/reliability.py

## pytest-benchmark suites under bench/ (toolkit speed, analytic vs Keras vs profiler).
bench: $(STAMP)
	$(PY) -m pytest bench -q --benchmark-only --benchmark-columns=min,median,mean,rounds

## The catalogue table and a profile: the main job until reports land.
demo: $(STAMP)
	$(VENV)/bin/archscale catalogue
	$(VENV)/bin/archscale profile resnet50 --input-shape 64x64x3 --classes 10 --batch 32 --no-layers

## The main job: run the default sweep and the memory of the presets over 30 M params
## (both resumable), then write reports/catalogue/.
## `bench` exits 1 when some job failed; the report still gets written (failures have a section).
report: $(STAMP)
	$(VENV)/bin/archscale bench bench/sweeps/catalogue.toml --db archscale.db || [ $$? -eq 1 ]
	$(VENV)/bin/archscale bench bench/sweeps/families.toml --db archscale.db || [ $$? -eq 1 ]
	$(VENV)/bin/archscale bench bench/sweeps/memory_large.toml --db archscale.db || [ $$? -eq 1 ]
	$(VENV)/bin/archscale report --db archscale.db --out reports/catalogue --format github \
	  $$([ -f reports/dimensions/results.json ] && echo --headline-from reports/dimensions/results.json)

## The optimal-dimensions study (grid around each task's proposal, searches, knee), then
## reports/dimensions/. Resumable: a re-run trains only what the store lacks.
dimensions: $(STAMP)
	$(PY) -m archscale.study run --study full --db dimensions.db --work dimensions_work --out reports/dimensions

## Regenerate the generated tables of README.md and docs/ (tools/update_readme.py: catalogue,
## propose rules, family fields, Keras coverage, the dimensions results once
## reports/dimensions/results.json exists), and docs/costs.md's memory table from its
## measurement stores when memtable/ is there (resumable: measures only what they lack).
readme: $(STAMP)
	$(PY) tools/update_readme.py README.md
	[ ! -d memtable ] || $(PY) tools/memory_table.py --sweep bench/sweeps/catalogue.toml \
	  --sweep bench/sweeps/families.toml --batch-sizes 1 32 --backends onednn eigen --store memtable --processes 3 --jobs 2 \
	  --doc docs/costs.md

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
