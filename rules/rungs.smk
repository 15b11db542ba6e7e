# A scheduler's rungs (scripts/snaketune/search/schedulers.py): rung 0 is each trial's
# own train job; rung k of bracket s has a fixed number of slots, which the promote job
# fills with the best trials of rung k-1 once all of them are scored. Which trial a slot
# trains is known only then, so slots, not trials, name the jobs: the DAG stays static.


rule promote:
    input:
        scores=get_rung_scores,
    output:
        LAYOUT.promotion("{bracket}", "{rung}"),
    log:
        LAYOUT.log("promote", "b{bracket}_r{rung}"),
    localrule: True
    conda:
        SKLEARN_ENV
    params:
        keep=get_rung_size,
        budget=get_rung_budget,
        budget_key=".".join((STUDY.rungs or {}).get("budget_key", ())),
        max_t=(STUDY.rungs or {}).get("max_t"),
        goal=HYPEROPT["goal"],
        preparations=LAYOUT.rung_preparations,
    shell:
        '"$SNAKETUNE_PYTHON" "$SNAKETUNE_ROUNDS" promote --rung {wildcards.rung}'
        " --keep {params.keep} --budget {params.budget} --budget-key {params.budget_key}"
        " --max-t {params.max_t}"
        " --goal {params.goal} --preparations {params.preparations:q} --out {output:q}"
        " {input.scores:q} 2> {log:q}"


rule rung_slot:
    input:
        LAYOUT.promotion("{bracket}", "{rung}"),
    output:
        parameters=LAYOUT.slot_file(
            "{bracket}", "{rung}", "{slot}", "sampled/parameters.json"
        ),
        config=LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "sampled/config.yaml"),
        prepared=LAYOUT.slot_file(
            "{bracket}", "{rung}", "{slot}", "sampled/prepared.txt"
        ),
    log:
        LAYOUT.log("rung_slot", "b{bracket}_r{rung}_{slot}"),
    localrule: True
    conda:
        SKLEARN_ENV
    shell:
        '"$SNAKETUNE_PYTHON" "$SNAKETUNE_ROUNDS" slot --promotion {input:q} --slot {wildcards.slot}'
        " --parameters {output.parameters:q} --config {output.config:q}"
        " --prepared {output.prepared:q} 2> {log:q}"


rule train_rung:
    input:
        parameters=LAYOUT.slot_file(
            "{bracket}", "{rung}", "{slot}", "sampled/parameters.json"
        ),
        config=LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "sampled/config.yaml"),
        prepared=LAYOUT.slot_file(
            "{bracket}", "{rung}", "{slot}", "sampled/prepared.txt"
        ),
        preparations=get_all_prepared,
    output:
        summary=LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "train_summary.json"),
        parameters=LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "parameters.json"),
        config=LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "config.yaml"),
        score=LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "score.json"),
    log:
        LAYOUT.slot_file("{bracket}", "{rung}", "{slot}", "train.log"),
    benchmark:
        LAYOUT.benchmark("train_rung", "b{bracket}_r{rung}_{slot}")
    retries: STUDY.settings.retries
    group:
        get_trial_group()
    conda:
        ENGINE_ENV
    threads: EXECUTOR["cpu_resources_per_trial"]
    resources:
        **get_train_resources(),
    params:
        engine=STUDY.settings.engine,
        command=get_command,
        output_feature=get_output_feature,
        metric=HYPEROPT["metric"],
    shell:
        TRAIN_COMMAND.replace("{wildcards.stage}", "trials")
