"""The `claims-oracle` entry point: a bad setting in the environment is named, not a traceback."""

from oracle.cli import main


def test_invalid_setting__named_with_its_env_variable_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("CLAIMS_ORACLE_CONFIRMATIONS", "abc")
    assert main(["verify", "1"]) == 2
    err = capsys.readouterr().err
    assert "invalid settings: CLAIMS_ORACLE_CONFIRMATIONS" in err and "valid integer" in err
    assert "Traceback" not in err


def test_verify__no_contract_configured__says_which_setting(monkeypatch):
    monkeypatch.delenv("CLAIMS_ORACLE_CONTRACT_ADDRESS", raising=False)
    try:
        main(["verify", "1"])
    except SystemExit as exc:
        assert "CLAIMS_ORACLE_CONTRACT_ADDRESS" in str(exc.code)
    else:
        raise AssertionError("verify without a contract address must exit with a message")
