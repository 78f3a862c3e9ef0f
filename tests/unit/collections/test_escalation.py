"""The escalation matrix's decision (`escalation.conditions_met`, `escalation.proposed_rule`): any one
condition of a rule fires it, the highest level above the current one wins, nothing at or below the
current level is proposed."""

from __future__ import annotations

from datetime import date

from o2c.collections.escalation import AccountFacts, Rule, conditions_met, proposed_rule, rank

AS_OF = date(2026, 4, 1)
TEAM_LEAD = Rule(1, "Team lead", "team_lead", 45, 1_000_000, "EUR", None, None, 0)
AR_MANAGER = Rule(2, "AR manager", "ar_manager", 60, 5_000_000, "EUR", 2, None, 0)
LEGAL = Rule(3, "Legal", "legal", None, None, "", None, 4, 14)
MATRIX = [TEAM_LEAD, AR_MANAGER, LEGAL]


def test_levels_rank_from_collector_to_agency() -> None:
    assert [rank(level) for level in ("collector", "team_lead", "ar_manager", "legal", "agency")] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_a_rule_fires_on_any_one_of_its_conditions() -> None:
    facts = AccountFacts(days_overdue=10, overdue={"EUR": 5_000_000}, broken_promises=0)

    assert conditions_met(AR_MANAGER, facts, AS_OF) == ["overdue_amount"]
    assert conditions_met(TEAM_LEAD, facts, AS_OF) == ["overdue_amount"]


def test_the_amount_counts_in_the_rules_currency_only() -> None:
    facts = AccountFacts(days_overdue=10, overdue={"USD": 9_000_000, "EUR": 999_999})

    assert conditions_met(TEAM_LEAD, facts, AS_OF) == []


def test_days_and_broken_promises_hold_from_their_threshold() -> None:
    assert conditions_met(AR_MANAGER, AccountFacts(60, {"EUR": 100}, broken_promises=2), AS_OF) == [
        "days_overdue",
        "broken_promises",
    ]
    assert conditions_met(AR_MANAGER, AccountFacts(59, {"EUR": 100}, broken_promises=1), AS_OF) == []


def test_the_dunning_condition_needs_the_level_for_its_days() -> None:
    reached_18_march = AccountFacts(
        58, {"EUR": 119_000}, dunned_since={1: date(2026, 2, 2), 4: date(2026, 3, 18)}
    )

    assert conditions_met(LEGAL, reached_18_march, date(2026, 3, 31)) == []
    assert conditions_met(LEGAL, reached_18_march, date(2026, 4, 1)) == ["dunning_level"]
    assert reached_18_march.dunning_level == 4
    assert reached_18_march.reached(3) == date(2026, 3, 18)


def test_the_highest_level_above_the_current_one_is_proposed() -> None:
    facts = AccountFacts(61, {"EUR": 119_000}, dunned_since={4: date(2026, 3, 18)})

    found = proposed_rule(current="collector", rules=MATRIX, facts=facts, as_of=AS_OF)

    assert found == (LEGAL, ["dunning_level"])


def test_nothing_is_proposed_at_or_below_the_current_level() -> None:
    facts = AccountFacts(61, {"EUR": 119_000})

    assert proposed_rule(current="ar_manager", rules=MATRIX, facts=facts, as_of=AS_OF) is None
    assert proposed_rule(current="team_lead", rules=MATRIX, facts=facts, as_of=AS_OF) == (
        AR_MANAGER,
        ["days_overdue"],
    )


def test_among_rules_of_one_level_the_oldest_that_fires_wins() -> None:
    other = Rule(9, "Team lead USD", "team_lead", None, 1_000_000, "USD", None, None, 0)
    facts = AccountFacts(50, {"USD": 2_000_000})

    assert proposed_rule(current="collector", rules=[other, TEAM_LEAD], facts=facts, as_of=AS_OF) == (
        TEAM_LEAD,
        ["days_overdue"],
    )
