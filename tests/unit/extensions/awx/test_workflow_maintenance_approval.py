# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AWX workflow "review, approve, apply" (extensions/awx/workflow_maintenance_approval.yml): every field is one the
awx.awx modules declare (vendored in awx_module_options.yml), of its type and choices, and the graph is dry run ->
approval -> apply."""

import copy
import pathlib

import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[3]
WORKFLOW = ROOT / 'extensions' / 'awx' / 'workflow_maintenance_approval.yml'
OPTIONS = yaml.safe_load((HERE / 'awx_module_options.yml').read_text())
TYPES = {'str': str, 'bool': bool, 'int': int, 'dict': dict, 'list': list}


def problems(values, options, where):
    """Each field of ``values`` that ``options`` (an argument spec or DOCUMENTATION options) does not declare, or whose
    value is not of its type or choices; suboptions checked in turn."""
    found = []
    names = dict((alias, name) for name, option in options.items() for alias in option.get('aliases', ()))
    names.update((name, name) for name in options)
    for name, option in options.items():
        if option.get('required') and name not in values:
            found.append(f'{where}: {name} is required')
    for key, value in values.items():
        if key not in names:
            found.append(f'{where}: {key} is not an option')
            continue
        option = options[names[key]]
        kind = TYPES[option.get('type', 'str')]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            found.append(f'{where}.{key}: {value!r} is not a {option.get("type", "str")}')
        elif 'choices' in option and value not in option['choices']:
            found.append(f'{where}.{key}: {value!r} is not one of {option["choices"]}')
        elif kind is list and option.get('elements') == 'str' and not all(isinstance(item, str) for item in value):
            found.append(f'{where}.{key}: elements must be texts')
        elif kind is dict and 'suboptions' in option:
            found.extend(problems(value, option['suboptions'], f'{where}.{key}'))
        elif kind is list and 'suboptions' in option:
            for index, item in enumerate(value):
                found.extend(problems(item, option['suboptions'], f'{where}.{key}[{index}]'))
    return found


def definition_problems(definition):
    found = []
    for index, template in enumerate(definition['job_templates']):
        found.extend(problems(template, OPTIONS['job_template'], f'job_templates[{index}]'))
    workflow = definition['workflow_job_template']
    found.extend(problems(workflow, OPTIONS['workflow_job_template'], 'workflow_job_template'))
    for index, node in enumerate(workflow.get('workflow_nodes', ())):
        found.extend(problems(node, OPTIONS['workflow_node'], f'workflow_nodes[{index}]'))
    return found


@pytest.fixture
def definition():
    return yaml.safe_load(WORKFLOW.read_text())


def test_every_field_is_one_the_awx_modules_declare(definition):
    assert definition_problems(definition) == []


@pytest.mark.parametrize(
    'change, problem',
    [
        (lambda d: d['job_templates'][0].update(job_typ='check'), 'job_templates[0]: job_typ is not an option'),
        (lambda d: d['job_templates'][0].update(job_type='dry'), "job_templates[0].job_type: 'dry' is not one of"),
        (
            lambda d: d['workflow_job_template']['workflow_nodes'][1].pop('identifier'),
            'workflow_nodes[1]: identifier is required',
        ),
        (
            lambda d: d['workflow_job_template']['workflow_nodes'][1]['unified_job_template'].update(timeout='1d'),
            "timeout: '1d' is not a int",
        ),
        (
            lambda d: d['workflow_job_template']['workflow_nodes'][0]['related'].update(on_success=[]),
            'related: on_success is not an option',
        ),
    ],
)
def test_the_check_finds_a_field_the_modules_do_not_take(definition, change, problem):
    changed = copy.deepcopy(definition)
    change(changed)
    assert any(problem in found for found in definition_problems(changed))


def test_dry_run_then_approval_then_apply(definition):
    templates = dict((template['name'], template) for template in definition['job_templates'])
    nodes = definition['workflow_job_template']['workflow_nodes']
    by_id = dict((node['identifier'], node) for node in nodes)
    assert len(by_id) == len(nodes) == 3
    # Each node leads on success to the next one, and only there; nothing runs after a failure or a denial.
    order = ['dry-run', 'approval', 'apply']
    for current, following in zip(order, order[1:] + [None]):
        related = by_id[current].get('related', {})
        assert related.get('success_nodes', []) == ([dict(identifier=following)] if following else [])
        assert set(related) <= {'success_nodes'}
    dry_run, approval, apply = (by_id[identifier]['unified_job_template'] for identifier in order)
    assert approval['type'] == 'workflow_approval' and 0 < approval['timeout'] <= 24 * 3600  # plan_max_age's default
    assert dry_run['type'] == apply['type'] == 'job_template'
    assert templates[dry_run['name']]['job_type'] == 'check' and templates[apply['name']]['job_type'] == 'run'
    assert templates[dry_run['name']]['playbook'] == templates[apply['name']]['playbook']
