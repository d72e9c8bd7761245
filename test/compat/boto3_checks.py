"""Drives the local servers with boto3 the way real code does, and prints one JSON object: check name -> result.

Run by s3-clients.test.ts and job-api-clients.test.ts, which assert each result in its own test. Nothing here knows
our servers' internals: it uses only boto3's public API, an endpoint URL and credentials from the environment.

    python3 boto3_checks.py s3|jobapi
"""
import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

MB = 1024 * 1024
REGION = 'us-east-1'
results = {}


def check(name):
    def wrap(fn):
        try:
            results[name] = {'ok': True, 'value': fn()}
        except Exception as exc:  # the test prints what went wrong
            results[name] = {'ok': False, 'error': '%s: %s' % (type(exc).__name__, exc), 'trace': traceback.format_exc()[-2000:]}
        return fn
    return wrap


def error_code(fn):
    try:
        fn()
    except ClientError as exc:
        return {'code': exc.response['Error']['Code'], 'status': exc.response['ResponseMetadata']['HTTPStatusCode']}
    return {'code': None}


def http_get(url):
    try:
        with urllib.request.urlopen(url) as response:
            return {'status': response.status, 'body': response.read()}
    except urllib.error.HTTPError as exc:
        return {'status': exc.code, 'body': exc.read()}


def client(service, **overrides):
    credentials = {
        'aws_access_key_id': os.environ['CHECK_ACCESS_KEY_ID'],
        'aws_secret_access_key': os.environ['CHECK_SECRET_ACCESS_KEY'],
        'aws_session_token': os.environ.get('CHECK_SESSION_TOKEN'),
    }
    credentials.update(overrides)
    config = Config(signature_version='s3v4', s3={'addressing_style': 'path'}, retries={'max_attempts': 1})
    return boto3.client(service, region_name=REGION, endpoint_url=os.environ['CHECK_ENDPOINT'], config=config, **credentials)


def s3_checks():
    s3 = client('s3')
    bucket = os.environ['CHECK_BUCKET']
    data = bytes(range(256)) * 40

    @check('put_get_head_range')
    def _():
        s3.put_object(Bucket=bucket, Key='plain/data.bin', Body=data, ContentType='application/octet-stream', Metadata={'who': 'boto3'})
        got = s3.get_object(Bucket=bucket, Key='plain/data.bin')['Body'].read()
        head = s3.head_object(Bucket=bucket, Key='plain/data.bin')
        ranged = s3.get_object(Bucket=bucket, Key='plain/data.bin', Range='bytes=2-5')
        return {
            'same': got == data,
            'length': head['ContentLength'],
            'metadata': head['Metadata'],
            'etag': head['ETag'],
            'md5': '"%s"' % hashlib.md5(data).hexdigest(),
            'range': list(ranged['Body'].read()),
            'contentRange': ranged['ContentRange'],
        }

    big = os.urandom(11 * MB)
    transfer = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)

    @check('multipart_upload_download')
    def _():
        with tempfile.TemporaryDirectory() as folder:
            source = os.path.join(folder, 'big.bin')
            with open(source, 'wb') as f:
                f.write(big)
            s3.upload_file(source, bucket, 'big/one.bin', Config=transfer)
            target = os.path.join(folder, 'back.bin')
            s3.download_file(bucket, 'big/one.bin', target, Config=transfer)
            with open(target, 'rb') as f:
                back = f.read()
        return {'same': back == big, 'etag': s3.head_object(Bucket=bucket, Key='big/one.bin')['ETag']}

    @check('copy_object')
    def _():
        s3.copy_object(Bucket=bucket, Key='plain/copy.bin', CopySource={'Bucket': bucket, 'Key': 'plain/data.bin'})
        return {'same': s3.get_object(Bucket=bucket, Key='plain/copy.bin')['Body'].read() == data}

    @check('multipart_copy')
    def _():
        # boto3's managed copy uses UploadPartCopy above the threshold.
        s3.copy({'Bucket': bucket, 'Key': 'big/one.bin'}, bucket, 'big/copy.bin', Config=transfer)
        return {'same': s3.get_object(Bucket=bucket, Key='big/copy.bin')['Body'].read() == big,
                'etag': s3.head_object(Bucket=bucket, Key='big/copy.bin')['ETag']}

    @check('list_objects_v2')
    def _():
        for i in range(5):
            s3.put_object(Bucket=bucket, Key='list/k%d' % i, Body=b'x')
        s3.put_object(Bucket=bucket, Key='list/sub/deep', Body=b'x')
        pages = list(s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix='list/', Delimiter='/', PaginationConfig={'PageSize': 2}))
        return {
            'keys': [o['Key'] for p in pages for o in p.get('Contents', [])],
            'prefixes': [c['Prefix'] for p in pages for c in p.get('CommonPrefixes', [])],
            'pages': len(pages),
        }

    @check('list_objects_v1')
    def _():
        pages = list(s3.get_paginator('list_objects').paginate(Bucket=bucket, Prefix='list/', PaginationConfig={'PageSize': 2}))
        return {'keys': [o['Key'] for p in pages for o in p.get('Contents', [])], 'pages': len(pages)}

    @check('delete_object_and_objects')
    def _():
        s3.delete_object(Bucket=bucket, Key='list/k0')
        answer = s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': 'list/k1'}, {'Key': 'list/k2'}]})
        left = [o['Key'] for o in s3.list_objects_v2(Bucket=bucket, Prefix='list/').get('Contents', [])]
        return {'deleted': sorted(d['Key'] for d in answer['Deleted']), 'left': left,
                'missing': error_code(lambda: s3.head_object(Bucket=bucket, Key='list/k0'))}

    @check('presigned_get')
    def _():
        url = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'plain/data.bin'}, ExpiresIn=300)
        fresh = http_get(url)
        # X-Amz-Signature comes last: change its final hex digit.
        tampered = http_get(url[:-1] + ('1' if url[-1] == '0' else '0'))
        short = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'plain/data.bin'}, ExpiresIn=1)
        time.sleep(2.2)
        expired = http_get(short)
        return {'status': fresh['status'], 'same': fresh['body'] == data,
                'tampered': tampered['status'], 'expired': expired['status'], 'expiredBody': expired['body'][:300].decode('utf-8')}

    @check('sse_kms_echo')
    def _():
        key_id = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
        put = s3.put_object(Bucket=bucket, Key='kms/a', Body=b'secret', ServerSideEncryption='aws:kms', SSEKMSKeyId=key_id)
        head = s3.head_object(Bucket=bucket, Key='kms/a')
        return {'put': [put['ServerSideEncryption'], put['SSEKMSKeyId']], 'head': [head['ServerSideEncryption'], head['SSEKMSKeyId']]}

    @check('checksums')
    def _():
        out = {}
        for algorithm in ['SHA256', 'CRC32', 'SHA1']:
            s3.put_object(Bucket=bucket, Key='sum/' + algorithm, Body=data, ChecksumAlgorithm=algorithm)
            head = s3.head_object(Bucket=bucket, Key='sum/' + algorithm, ChecksumMode='ENABLED')
            got = s3.get_object(Bucket=bucket, Key='sum/' + algorithm, ChecksumMode='ENABLED')
            out[algorithm] = {'head': head.get('Checksum' + algorithm), 'get': got.get('Checksum' + algorithm), 'same': got['Body'].read() == data}
        out['expectedSHA256'] = __import__('base64').b64encode(hashlib.sha256(data).digest()).decode()
        return out

    @check('wrong_credentials')
    def _():
        other = client('s3', aws_access_key_id='AKIAOTHERKEY00000000', aws_secret_access_key='x' * 40, aws_session_token=None)
        wrong_secret = client('s3', aws_secret_access_key='not-the-secret')
        return {'unknownKey': error_code(lambda: other.get_object(Bucket=bucket, Key='plain/data.bin')),
                'wrongSecret': error_code(lambda: wrong_secret.get_object(Bucket=bucket, Key='plain/data.bin'))}


def jobapi_checks():
    cp = client('codepipeline')
    jobs = json.loads(os.environ['CHECK_JOBS'])

    @check('success')
    def _():
        cp.put_job_success_result(jobId=jobs['success'], executionDetails={'summary': 'from boto3', 'percentComplete': 100},
                                  outputVariables={'version': '1.2.3'})
        return 'ok'

    @check('failure_types')
    def _():
        for failure_type, job in jobs['failures'].items():
            cp.put_job_failure_result(jobId=job, failureDetails={'type': failure_type, 'message': 'failed: ' + failure_type,
                                                                  'externalExecutionId': 'run-1'})
        return 'ok'

    @check('continuation')
    def _():
        cp.put_job_success_result(jobId=jobs['continuation'], continuationToken='step-1')
        cp.put_job_success_result(jobId=jobs['continuation'], continuationToken='step-2')
        cp.put_job_success_result(jobId=jobs['continuation'], outputVariables={'steps': '2'})
        return 'ok'

    @check('errors')
    def _():
        return {
            'unknownJob': error_code(lambda: cp.put_job_success_result(jobId='00000000-0000-4000-8000-000000000000')),
            'duplicate': error_code(lambda: cp.put_job_success_result(jobId=jobs['success'])),
            'tooLongSummary': error_code(lambda: cp.put_job_success_result(jobId=jobs['spare'], executionDetails={'summary': 's' * 2049})),
            'variablesWithToken': error_code(lambda: cp.put_job_success_result(jobId=jobs['spare'], continuationToken='t', outputVariables={'a': 'b'})),
            'customAction': error_code(lambda: cp.get_job_details(jobId=jobs['spare'])),
            'wrongSecret': error_code(lambda: client('codepipeline', aws_secret_access_key='nope').put_job_success_result(jobId=jobs['spare'])),
        }


if __name__ == '__main__':
    {'s3': s3_checks, 'jobapi': jobapi_checks}[sys.argv[1]]()
    print(json.dumps(results))
