# An adaptive search's rounds (scripts/snaketune/search/rounds.py): round r's job reads
# the history before round r-1 and the scores of round r-1's trials, and writes round r's
# suggestions; a small job per trial copies its values into its sampled/ folder, from
# which rule train reads them as it reads a random trial's. Static jobs, not
# checkpoints: every round's trials are known at parse time (docs/internals.md).


rule suggest:
    input:
        unpack(get_round_inputs),
    output:
        round=LAYOUT.round_file("{round}"),
        history=LAYOUT.round_history("{round}"),
    log:
        LAYOUT.log("suggest", "round_{round}"),
    localrule: True
    conda:
        SEARCH_ENV
    params:
        search=LAYOUT.search_file(STUDY.search_digest),
        previous=get_previous_history,
    shell:
        '"$SNAKETUNE_PYTHON" "$SNAKETUNE_ROUNDS" suggest --search {params.search:q}'
        " --round {wildcards.round} --previous={params.previous:q}"
        " --round-file {output.round:q} --history {output.history:q} --log {log:q}"
        " {input.scores:q}"


rule suggested:
    input:
        round=get_trial_round,
    output:
        parameters=LAYOUT.sampled("{trial}", "s{digest}", "parameters.json"),
        config=LAYOUT.sampled("{trial}", "s{digest}", "config.yaml"),
    log:
        LAYOUT.log("suggested", "{trial}_s{digest}"),
    localrule: True
    conda:
        SKLEARN_ENV
    shell:
        '"$SNAKETUNE_PYTHON" "$SNAKETUNE_ROUNDS" extract --round-file {input.round:q}'
        " --trial {wildcards.trial} --parameters {output.parameters:q}"
        " --config {output.config:q} 2> {log:q}"
