"""Credit limits, the exposure summary, sales orders under credit control, and the default credit policy
of every legal entity (DESIGN: set-up). The exposure's open receivables start from the documents
already open and are kept by the triggers of `o2c.credit.triggers` from then on."""


import datetime
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone


def create_default_policies(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.credit import defaults

    LegalEntity = apps.get_model("ledger", "LegalEntity")
    CreditPolicy = apps.get_model("credit", "CreditPolicy")
    ApprovalThreshold = apps.get_model("credit", "ApprovalThreshold")
    now = timezone.now()
    for entity in LegalEntity.objects.order_by("pk"):
        CreditPolicy.objects.create(
            entity=entity, past_due_days=defaults.PAST_DUE_DAYS, cutoff_time=defaults.CUTOFF_TIME, changed_at=now
        )
        ApprovalThreshold.objects.create(
            entity=entity,
            currency=entity.currency,
            threshold_minor=defaults.approval_threshold_minor(entity.currency),
            changed_at=now,
        )


def summarize_open_receivables(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.execute(
        """
        INSERT INTO credit_customerexposure
            (customer_id, currency, receivables_minor, orders_minor, shipped_minor, unbilled_minor)
        SELECT customer_id, currency, SUM(open_minor), 0, 0, 0 FROM receivables_document
        WHERE status = 'issued' AND open_minor <> 0
        GROUP BY customer_id, currency HAVING SUM(open_minor) <> 0
        """
    )


def install_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.core.db import execute_for_vendor
    from o2c.credit import triggers

    execute_for_vendor(schema_editor.connection, triggers.INSTALL, what="the exposure triggers")


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from o2c.core.db import execute_for_vendor
    from o2c.credit import triggers

    execute_for_vendor(schema_editor.connection, triggers.DROP, what="the exposure triggers")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('customers', '0003_mandate'),
        ('ledger', '0013_allowance_account'),
        ('receivables', '0006_document_last_allocation_date'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CreditPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('past_due_days', models.PositiveIntegerField(default=60)),
                ('cutoff_time', models.TimeField(default=datetime.time(17, 0), help_text="in the entity's time zone")),
                ('sales_email', models.EmailField(blank=True, help_text='where sales hears of holds and decisions', max_length=254)),
                ('changed_at', models.DateTimeField()),
                ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entity', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='credit_policy', to='ledger.legalentity')),
            ],
        ),
        migrations.CreateModel(
            name='ApprovalThreshold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('threshold_minor', models.BigIntegerField()),
                ('changed_at', models.DateTimeField()),
                ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entity', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.legalentity')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('entity', 'currency'), name='unique_credit_threshold'), models.CheckConstraint(condition=models.Q(('threshold_minor__gte', 0)), name='credit_threshold_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='CreditLimit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('amount_minor', models.BigIntegerField()),
                ('valid_until', models.DateField(blank=True, null=True)),
                ('next_review_date', models.DateField(blank=True, null=True)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('active', 'Active'), ('rejected', 'Rejected'), ('superseded', 'Superseded')], max_length=10)),
                ('source', models.CharField(choices=[('request', 'Request'), ('migrated', 'Migrated')], default='request', max_length=10)),
                ('needs_approval', models.BooleanField(default=False)),
                ('reason', models.CharField(blank=True, max_length=500)),
                ('requested_at', models.DateTimeField()),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision_reason', models.CharField(blank=True, max_length=500)),
                ('activated_at', models.DateTimeField(blank=True, null=True)),
                ('superseded_at', models.DateTimeField(blank=True, null=True)),
                ('mirrored_minor', models.BigIntegerField(blank=True, null=True)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_limits', to='customers.customer')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['customer', 'requested_at'], name='credit_limit_history_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('amount_minor__gte', 0)), name='credit_limit_amount_not_negative'), models.UniqueConstraint(condition=models.Q(('status', 'active')), fields=('customer',), name='one_active_credit_limit'), models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('customer',), name='one_pending_credit_limit')],
            },
        ),
        migrations.CreateModel(
            name='CustomerExposure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('receivables_minor', models.BigIntegerField(default=0)),
                ('orders_minor', models.BigIntegerField(default=0)),
                ('shipped_minor', models.BigIntegerField(default=0)),
                ('unbilled_minor', models.BigIntegerField(default=0)),
                ('unbilled_as_of', models.DateField(blank=True, null=True)),
                ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('customer', 'currency'), name='unique_customer_exposure')],
            },
        ),
        migrations.CreateModel(
            name='SalesOrder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.CharField(max_length=60)),
                ('currency', models.CharField(max_length=3)),
                ('amount_minor', models.BigIntegerField()),
                ('requested_date', models.DateField()),
                ('status', models.CharField(choices=[('held', 'Held'), ('released', 'Released'), ('rejected', 'Rejected'), ('shipped', 'Shipped'), ('invoiced', 'Invoiced'), ('cancelled', 'Cancelled')], max_length=10)),
                ('source', models.CharField(choices=[('api', 'Api'), ('csv', 'Csv')], default='api', max_length=5)),
                ('hold_reasons', models.JSONField(blank=True, default=list)),
                ('received_at', models.DateTimeField()),
                ('held_at', models.DateTimeField(blank=True, null=True)),
                ('checked_at', models.DateTimeField()),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision_reason', models.CharField(blank=True, max_length=500)),
                ('release_date', models.DateField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sales_orders', to='customers.customer')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entity', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.legalentity')),
            ],
            options={
                'indexes': [models.Index(fields=['customer', 'status'], name='sales_order_customer_idx'), models.Index(condition=models.Q(('status', 'held')), fields=['entity', 'held_at'], name='sales_order_held_idx')],
                'constraints': [models.UniqueConstraint(fields=('entity', 'number'), name='unique_sales_order_number'), models.CheckConstraint(condition=models.Q(('amount_minor__gt', 0)), name='sales_order_amount_positive')],
            },
        ),
        migrations.RunPython(create_default_policies, migrations.RunPython.noop),
        migrations.RunPython(summarize_open_receivables, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
