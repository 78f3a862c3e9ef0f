# Activities: calls, e-mails, letters and notes a collector logs on a customer.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('collections', '0006_payment_plans'),
        ('customers', '0003_mandate'),
        ('ledger', '0013_allowance_account'),
        ('receivables', '0006_document_last_allocation_date'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Activity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('call', 'Call'), ('email', 'E-mail'), ('letter', 'Letter'), ('note', 'Note')], max_length=10)),
                ('outcome', models.CharField(choices=[('reached', 'Reached'), ('no_answer', 'No answer'), ('left_message', 'Left a message'), ('promised', 'Promised to pay'), ('disputed', 'Disputed'), ('refused', 'Refused'), ('other', 'Other')], max_length=15)),
                ('text', models.TextField(blank=True)),
                ('next_action_date', models.DateField(blank=True, null=True)),
                ('created_at', models.DateTimeField()),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer')),
                ('entity', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.legalentity')),
            ],
        ),
        migrations.CreateModel(
            name='ActivityDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('activity', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='collections.activity')),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='receivables.document')),
            ],
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['entity', 'next_action_date'], name='activity_next_action_idx'),
        ),
        migrations.AddConstraint(
            model_name='activity',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['call', 'email', 'letter', 'note'])), name='activity_kind_known'),
        ),
        migrations.AddConstraint(
            model_name='activity',
            constraint=models.CheckConstraint(condition=models.Q(('outcome__in', ['reached', 'no_answer', 'left_message', 'promised', 'disputed', 'refused', 'other'])), name='activity_outcome_known'),
        ),
        migrations.AddConstraint(
            model_name='activitydocument',
            constraint=models.UniqueConstraint(fields=('activity', 'document'), name='one_activity_document'),
        ),
    ]
