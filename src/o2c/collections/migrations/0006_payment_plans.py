# Payment plans: a customer's documents paid off in instalments, approved by a second person.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('collections', '0005_promise_judgement'),
        ('customers', '0003_mandate'),
        ('ledger', '0013_allowance_account'),
        ('receivables', '0006_document_last_allocation_date'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PaymentPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('total_minor', models.BigIntegerField(help_text="the instalments' sum")),
                ('grace_days', models.PositiveSmallIntegerField(help_text='days an instalment may be late')),
                ('state', models.CharField(choices=[('proposed', 'Proposed'), ('approved', 'Approved'), ('active', 'Active'), ('completed', 'Completed'), ('defaulted', 'Defaulted'), ('rejected', 'Rejected')], default='proposed', max_length=10)),
                ('note', models.TextField(blank=True)),
                ('proposed_at', models.DateTimeField()),
                ('decided_at', models.DateTimeField(blank=True, help_text='approved or rejected', null=True)),
                ('decision_reason', models.CharField(blank=True, max_length=500)),
                ('approved_on', models.DateField(blank=True, help_text='cash counts from this day', null=True)),
                ('activated_on', models.DateField(blank=True, null=True)),
                ('judged_on', models.DateField(blank=True, help_text='completed or defaulted on', null=True)),
                ('judged_at', models.DateTimeField(blank=True, null=True)),
                ('paid_minor', models.BigIntegerField(default=0, help_text='the cash counted when judged')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entity', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.legalentity')),
                ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='PlanDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='receivables.document')),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='collections.paymentplan')),
            ],
        ),
        migrations.CreateModel(
            name='PlanInstalment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('due_date', models.DateField()),
                ('amount_minor', models.BigIntegerField()),
                ('currency', models.CharField(help_text="the plan's", max_length=3)),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='instalments', to='collections.paymentplan')),
            ],
        ),
        migrations.AddIndex(
            model_name='paymentplan',
            index=models.Index(fields=['entity', 'state'], name='payment_plan_state_idx'),
        ),
        migrations.AddConstraint(
            model_name='paymentplan',
            constraint=models.CheckConstraint(condition=models.Q(('total_minor__gt', 0)), name='payment_plan_total_positive'),
        ),
        migrations.AddConstraint(
            model_name='paymentplan',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['proposed', 'rejected']), ('approved_on__isnull', False), _connector='OR'), name='payment_plan_approved_on_once_approved'),
        ),
        migrations.AddConstraint(
            model_name='paymentplan',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('judged_on__isnull', False), ('state__in', ['completed', 'defaulted'])), models.Q(models.Q(('state__in', ['completed', 'defaulted']), _negated=True), ('judged_on__isnull', True)), _connector='OR'), name='payment_plan_judged_when_ended'),
        ),
        migrations.AddConstraint(
            model_name='plandocument',
            constraint=models.UniqueConstraint(fields=('plan', 'document'), name='one_plan_document'),
        ),
        migrations.AddConstraint(
            model_name='planinstalment',
            constraint=models.UniqueConstraint(fields=('plan', 'due_date'), name='one_instalment_a_day'),
        ),
        migrations.AddConstraint(
            model_name='planinstalment',
            constraint=models.CheckConstraint(condition=models.Q(('amount_minor__gt', 0)), name='instalment_amount_positive'),
        ),
    ]
